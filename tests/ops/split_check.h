// Shared by the tests of ops over views larger than the device's
// storage-buffer range (ops::row_windows): lower the range, run an op, and
// compare the split run with the unsplit one. Header only (not a test file).
#pragma once
#include <catch2/catch.hpp>

#include <cstring>
#include <functional>
#include <vector>

#include "gpu/harness.h"
#include "ops/op_check.h"

namespace fovea::test {

using gpu::Program;
using Views = std::vector<gpu::View>;
// Records an op on its input and output tensors.
using Record = std::function<void(Program&, const Views& in, const Views& out)>;

// Lowers the device model's storage-buffer range while alive (0: unchanged).
class StorageRange {
 public:
  explicit StorageRange(uint64_t bytes) : old_(context().info().max_storage_range) {
    if (bytes) context().info_for_test().max_storage_range = uint32_t(bytes);
  }
  ~StorageRange() { context().info_for_test().max_storage_range = old_; }

 private:
  uint32_t old_;
};

// 64 rows of the widest row per window: with any view alignment up to 256
// bytes (FOVEA_LIMITS=vulkan11-min) the windows are exactly 64 rows.
constexpr uint64_t kWindowRows = 64;

// One op's outputs and how many dispatches recorded them.
struct Outputs {
  std::vector<std::vector<float>> values;
  size_t dispatches = 0;
};

// Runs `record` on tensors of the given sizes (inputs set to `inputs`, outputs
// to garbage) with the storage range lowered to `range` bytes (0: none).
inline Outputs run_op(const std::vector<std::vector<float>>& inputs, const std::vector<uint64_t>& out_floats,
                      uint64_t range, const Record& record, const nn::StepParams& params = {}) {
  StorageRange limit(range);
  OpRun run;
  Views in, out;
  for (size_t i = 0; i < inputs.size(); ++i) in.push_back(run.tensor("in" + std::to_string(i), inputs[i].size()));
  for (size_t i = 0; i < out_floats.size(); ++i) out.push_back(run.tensor("out" + std::to_string(i), out_floats[i]));
  run.commit();
  for (size_t i = 0; i < inputs.size(); ++i) run.set(in[i], inputs[i]);
  for (size_t i = 0; i < out.size(); ++i) run.set(out[i], garbage(out_floats[i], 7 + i));
  record(run.program(), in, out);
  Outputs o;
  o.dispatches = run.program().dispatches().size();
  run.run(params);
  for (size_t i = 0; i < out.size(); ++i) o.values.push_back(run.get(out[i], out_floats[i]));
  return o;
}

// The split run against the unsplit one: more dispatches; output `i` equal
// bit for bit when exact[i], else within float rounding of a different order.
inline void check_split(const Outputs& split, const Outputs& whole, const std::vector<bool>& exact) {
  CHECK(split.dispatches > whole.dispatches);
  for (size_t i = 0; i < exact.size(); ++i) {
    INFO("output " << i);
    if (exact[i]) {
      CHECK(std::memcmp(split.values[i].data(), whole.values[i].data(), whole.values[i].size() * 4) == 0);
    } else {
      check_close(split.values[i], ref::widen(whole.values[i]), 1e-5, 1e-5, "split vs whole");
    }
  }
}

}  // namespace fovea::test
