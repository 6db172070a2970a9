// Test support for kernels: one Vulkan context per test process, always with
// the validation layer and synchronisation validation, and OpRun, a
// throwaway program with its own arenas to run a few dispatches once.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gpu/context.h"
#include "gpu/kernel.h"
#include "gpu/memory.h"
#include "gpu/recorder.h"
#include "nn/step_params.h"

namespace fovea::test {

gpu::Context& context();
// Validation messages so far in this process (main() fails the run if > 0).
uint64_t validation_messages();
// Destroys the shared context before static destruction: SwiftShader's and
// NVIDIA's drivers crash when a device outlives their own statics at exit.
void release_context();

class OpRun {
 public:
  OpRun();
  // Before commit(): plan a device tensor of `floats` 32-bit values.
  gpu::View tensor(const std::string& name, uint64_t floats);
  // Before commit(): plan a host-visible (upload-ring) tensor.
  gpu::View host_tensor(const std::string& name, uint64_t bytes);
  void commit();
  void set(const gpu::View& v, const std::vector<float>& values);
  void set_u32(const gpu::View& v, const std::vector<uint32_t>& values);
  std::vector<float> get(const gpu::View& v, uint64_t floats);
  gpu::Program& program() { return program_; }
  // Records the program once and runs it once with these step parameters.
  void run(const nn::StepParams& params = {});

 private:
  gpu::Context& ctx_;
  std::unique_ptr<gpu::Arena> device_, upload_;
  gpu::View params_;
  gpu::Program program_;
};

// n values uniform in [lo, hi), never exactly zero; seeded, deterministic.
std::vector<float> random_floats(uint64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// |a - b| <= atol + rtol * |b| for every element; on failure reports the
// first index that differs (as a Catch failure message).
void check_close(const std::vector<float>& got, const std::vector<double>& want, double atol,
                 double rtol, const std::string& what);

// A batch in host memory: images of image_bytes bytes each, one label each.
struct HostBatch {
  std::vector<uint8_t> images;
  std::vector<uint32_t> labels;
};
// n images of seeded random bytes (1..255, never zero) and random labels in [0, classes).
HostBatch random_host_batch(uint32_t n, uint64_t image_bytes, uint32_t classes, uint32_t seed);

}  // namespace fovea::test
