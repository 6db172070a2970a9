#version 450
// One FGSM / PGD step on standardised images (src/ops/adversarial.h), per
// value e of channel c (stats: mean_c, 1/std_c):
//   v  = from + alpha / std_c * sign(g)
//   x' = clamp(clamp(v, x0 - eps / std_c, x0 + eps / std_c), -mean_c / std_c, (1 - mean_c) / std_c)
// from = x0 (FIRST = 1) or x (the previous step's x'). Padding rows (row0 +
// b >= P.rows) and steps the per-step choice skips get x' = x0. One lane
// per value, grid-stride: at most 2^32 / (64 * 65535) < 1,025 iterations.
#include "common.glsl"
#include "rng/philox.glsl"
layout(constant_id = 0) const uint FIRST = 1;
layout(local_size_x = 64) in;

const uint ADVERSARIAL_STREAM = 0x41100000u;  // ops::kAdversarialStream

layout(std430, set = 0, binding = 1) readonly buffer Stats { float mean_std[]; };  // [mean C][1/std C]
layout(std430, set = 0, binding = 2) readonly buffer X0 { float x0[]; };          // [B, C, H, W]
layout(std430, set = 0, binding = 3) readonly buffer G { float g[]; };            // dloss/dx
layout(std430, set = 0, binding = 4) buffer X { float x[]; };                      // from (FIRST = 0) and x'

layout(push_constant) uniform Push {
  uint count;     // values of this dispatch's rows
  uint plane;     // H * W
  uint channels;  // C
  uint row0;      // the batch row of the first row (a window of a larger batch)
  uint features;  // C * H * W
  float eps, alpha, probability;
} pc;

void main() {
  bool taken = pc.probability >= 1.0 ||
               philox_uniform(P.seed, ADVERSARIAL_STREAM, P.step, 0u, 0u) < pc.probability;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) {
    float base = x0[e];
    uint b = e / pc.features;
    if (!taken || pc.row0 + b >= P.rows) {
      x[e] = base;
      continue;
    }
    uint c = (e / pc.plane) % pc.channels;
    float mean = mean_std[c], inv_std = mean_std[pc.channels + c];
    float from = FIRST != 0u ? base : x[e];
    float v = from + pc.alpha * inv_std * sign(g[e]);
    float r = pc.eps * inv_std;
    v = clamp(v, base - r, base + r);
    x[e] = clamp(v, -mean * inv_std, (1.0 - mean) * inv_std);
  }
}
