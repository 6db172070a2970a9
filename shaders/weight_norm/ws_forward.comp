#version 450
// Weight standardization, forward, for rows of one chunk (<= 16,384 units):
// one workgroup per row o. With K = W[o, 0], a shift taken from the row
// (sums of w - K do not cancel the way sums of w^2 do when |mean| >> std):
//   A = sum_j (W[o, j] - K),   B = sum_j (W[o, j] - K)^2,
//   mean = K + A/F,   var = max(B/F - (A/F)^2, 0)   (biased, F = cols),
//   invstd = 1 / sqrt(var + eps),   W_hat[o, j] = (W[o, j] - mean) invstd,
// and saved[o] = mean, saved[rows + o] = invstd.
#include "weight_norm/weight_norm.glsl"

layout(std430, set = 0, binding = 1) readonly buffer W { vec4 w4[]; };      // [rows, cols]
layout(std430, set = 0, binding = 1) readonly buffer W1 { float w1[]; };
layout(std430, set = 0, binding = 2) writeonly buffer WHat { vec4 wh4[]; }; // [rows, cols]
layout(std430, set = 0, binding = 2) writeonly buffer WHat1 { float wh1[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Saved { float saved[]; };  // [2, rows]

layout(push_constant) uniform Push { uint rows, cols, units, iters; float eps; } pc;

void main() {
  uint row;
  if (!workgroup_row(pc.rows, row)) return;
  const uint base = row * pc.units;
  const float K = w1[row * pc.cols];
  const vec4 mask = unit_mask();
  vec4 a = vec4(0.0), b = vec4(0.0);
  uint j = first_unit(0u, pc.iters);
  for (uint t = 0u; t < pc.iters; ++t, j += WIDTH) {
    const bool valid = j < pc.units;
    const vec4 d = (UNIT(w4, w1, base + (valid ? j : 0u)) - K) * (valid ? mask : vec4(0.0));
    a += d;
    b += d * d;
  }
  const vec2 s = workgroup_sum(vec2(hsum(a), hsum(b)));
  const float F = float(pc.cols);
  const float m = s.x / F;
  const float mean = K + m;
  const float invstd = 1.0 / sqrt(max(s.y / F - m * m, 0.0) + pc.eps);
  j = first_unit(0u, pc.iters);
  for (uint t = 0u; t < pc.iters; ++t, j += WIDTH) {
    if (j < pc.units) {
      if (VEC4 != 0u) wh4[base + j] = (w4[base + j] - mean) * invstd;
      else wh1[base + j] = (w1[base + j] - mean) * invstd;
    }
  }
  if (gl_LocalInvocationID.x == 0u) {
    saved[row] = mean;
    saved[pc.rows + row] = invstd;
  }
}
