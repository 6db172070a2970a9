#version 450
// Finishes weight_norm/ws_reduce: per row o, A and B are the partials added
// in chunk order (F = cols).
//   BACKWARD 0: X = W, Out = saved [2, rows]:
//     m = A/F, saved[o] = W[o, 0] + m, saved[rows + o] = 1/sqrt(max(B/F - m^2, 0) + eps)
//   BACKWARD 1: X = saved, Out = coef [3, rows]:
//     coef[o] = mean(g) = A/F, coef[rows + o] = mean(g W_hat) = B/F,
//     coef[2 rows + o] = invstd = saved[rows + o]
// One lane per row loops over the chunks (<= 16,384, checked on the host).
#include "common.glsl"
layout(constant_id = 0) const uint BACKWARD = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Part { float part[]; };  // [rows, chunks, 2]
layout(std430, set = 0, binding = 2) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Out { float outv[]; };

layout(push_constant) uniform Push { uint rows, cols, chunks; float eps; } pc;

void main() {
  const uint row = gl_GlobalInvocationID.x;
  if (row >= pc.rows) return;
  float A = 0.0, B = 0.0;
  uint at = row * pc.chunks * 2u;
  for (uint c = 0u; c < pc.chunks; ++c, at += 2u) {
    A += part[at];
    B += part[at + 1u];
  }
  const float F = float(pc.cols);
  if (BACKWARD == 0u) {
    const float m = A / F;
    outv[row] = x[row * pc.cols] + m;
    outv[pc.rows + row] = 1.0 / sqrt(max(B / F - m * m, 0.0) + pc.eps);
  } else {
    outv[row] = A / F;
    outv[pc.rows + row] = B / F;
    outv[2u * pc.rows + row] = x[pc.rows + row];
  }
}
