// The roofline's micro-kernels (`fovea bench --roofline` when --peak-* are
// not given): an FMA loop for the device's arithmetic rate and a streaming
// copy for its memory bandwidth.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

// y[i] = sum over j < 16 of f^iterations(x[i] + j / 16), f(v) = v * a + b,
// for i < count; 2 * 16 * iterations FLOPs per value (shaders/roofline/fma.comp).
struct FmaLoop {
  uint32_t count = 0, iterations = 0;
  float a = 1, b = 0;
  double flops() const { return 32.0 * count * iterations; }
};
void record_fma_loop(Program& p, const FmaLoop& f, const View& x, const View& y, const std::string& label);

// y = x over count4 vec4 values (shaders/roofline/copy.comp), 32 bytes moved
// per vec4; at most 512 workgroups, each lane looping <= 4096 times.
void record_stream_copy(Program& p, uint64_t count4, const View& x, const View& y, const std::string& label);

}  // namespace fovea::ops
