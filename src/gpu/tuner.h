// The autotuner: picks the fastest of a kernel's variants for one shape on
// this device. Callers offer only variants that add every output's terms in
// the same order (they differ in how outputs are split among lanes and
// workgroups), so the choice changes speed, never results.
//
// Each (device UUID, driver version, key) is timed once, outside any
// recorded step, and the choice is cached in
// $XDG_CACHE_HOME/fovea/tuning-<uuid>-<driverVersion>.txt (one line per key:
// "key choice ms_0 ms_1 ..."). Context::tune false (FOVEA_TUNE=0 for the
// command) turns tuning off (variant 0).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "gpu/recorder.h"

namespace fovea::gpu {

// Records variant `v` of the op into the program; views come from `alloc`
// (floats; filled with deterministic non-zero values before timing).
using TuneRecord = std::function<void(Program& p, uint32_t v, const std::function<View(uint64_t)>& alloc)>;

// The index of the fastest of `variants` for `key` (no spaces): the cached
// choice when the file has one, else timed now when `worth` (small problems
// are not worth a timing run) and the device has timestamps, else 0.
// Context::tune false: always 0. Never throws: a failed timing keeps variant 0.
uint32_t tuned_variant(Context& ctx, const std::string& key, uint32_t variants, bool worth,
                       const TuneRecord& record);

// The median GPU time (ms, device timestamps) of `repeat` replays of the
// program `record` builds, after two warm-up replays (JIT, caches); the
// views it takes from `alloc` (floats) hold deterministic non-zero values.
// The tuner's clock, and tools/bench_ops'.
// `params`: the parameter block the program reads (opaque bytes; the tuner
// passes kMaxParamBytes zero bytes).
double median_replay_ms(Context& ctx, std::span<const std::byte> params, int repeat,
                        const std::function<void(Program&, const std::function<View(uint64_t)>&)>& record);

// This device's tuning file (empty when neither XDG_CACHE_HOME nor HOME is set).
std::filesystem::path tuning_file(const Context& ctx);

}  // namespace fovea::gpu
