#version 450
// Statistics of each group s from the norm/reduce partials (MODE 0), added in
// chunk order: with n valid values, A = sum (x - shift), B = sum (x - shift)^2,
//   mean = shift + A/n,   var = B/n - (A/n)^2 (biased, clamped at 0),
//   saved[s] = mean,      saved[S + s] = 1 / sqrt(var + eps)
// A group with no valid values (padding samples, or P.rows = 0) gets mean 0
// and invstd 1/sqrt(eps): finite and deterministic.
// RUNNING (BatchNorm training): with momentum m and n > 1,
//   running[s]     = (1 - m) running[s]     + m mean
//   running[S + s] = (1 - m) running[S + s] + m var n/(n - 1)   (unbiased)
// n <= 1 (a batch PyTorch would reject) leaves the running statistics alone.
// GLOBAL_N (synchronised BatchNorm, --sync-bn): the partials are the host's
// sums over the ranks (K = 1), so n is the global batch's valid rows
// (loss_divisor(): P.loss_rows) times count.
#include "common.glsl"
layout(constant_id = 0) const uint RUNNING = 0;
layout(constant_id = 1) const uint GLOBAL_N = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Partial { float part[]; };  // [S, K, 3]
layout(std430, set = 0, binding = 2) writeonly buffer Saved { float saved[]; };  // [2, S]
layout(std430, set = 0, binding = 3) buffer Running { float running[]; };        // [2, S]

// count: values per group (per_sample != 0), or per row of the batch
// (per_sample == 0: BatchNorm, n = min(P.rows, batch) * count).
layout(push_constant) uniform Push {
  uint S, K, count, per_sample, batch;
  float eps, momentum;
} pc;

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint s = gl_GlobalInvocationID.x; s < pc.S; s += stride) {
    const float n = GLOBAL_N != 0u        ? loss_divisor() * float(pc.count)
                    : pc.per_sample == 0u ? float(min(P.rows, pc.batch)) * float(pc.count)
                                          : (s / pc.per_sample < P.rows ? float(pc.count) : 0.0);
    float a = 0.0, b = 0.0;
    for (uint k = 0; k < pc.K; ++k) {
      a += part[(s * pc.K + k) * 3u];
      b += part[(s * pc.K + k) * 3u + 1u];
    }
    const float shift = part[s * pc.K * 3u + 2u];
    const float d = n > 0.0 ? a / n : 0.0;
    const float var = n > 0.0 ? max(b / n - d * d, 0.0) : 0.0;
    const float mean = n > 0.0 ? shift + d : 0.0;
    saved[s] = mean;
    saved[pc.S + s] = 1.0 / sqrt(var + pc.eps);
    if (RUNNING != 0u && n > 1.0) {
      running[s] = (1.0 - pc.momentum) * running[s] + pc.momentum * mean;
      running[pc.S + s] =
          (1.0 - pc.momentum) * running[pc.S + s] + pc.momentum * (var * n / (n - 1.0));
    }
  }
}
