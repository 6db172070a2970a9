#version 450
// Spectral normalisation: s = W x, s[o] = sum_j W[o, j] x[x_off + j] (x_off
// in units; x = t in training, the stored v in evaluation). Workgroup (c, o)
// reduces chunk c of row o (see weight_norm.glsl) and writes out[c*rows + o]:
// s itself (one chunk) or a partial that dense/split_reduce adds in order.
#include "weight_norm/weight_norm.glsl"

layout(std430, set = 0, binding = 1) readonly buffer W { vec4 w4[]; };  // [rows, cols]
layout(std430, set = 0, binding = 1) readonly buffer W1 { float w1[]; };
layout(std430, set = 0, binding = 2) readonly buffer X { vec4 x4[]; };
layout(std430, set = 0, binding = 2) readonly buffer X1 { float x1[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Out { float outv[]; };  // [chunks, rows]

layout(push_constant) uniform Push { uint rows, units, iters, x_off; } pc;

void main() {
  uint row;
  if (!workgroup_row(pc.rows, row)) return;
  const uint chunk = gl_WorkGroupID.x;
  const uint base = row * pc.units;
  vec4 acc = vec4(0.0);
  uint j = first_unit(chunk, pc.iters);
  for (uint t = 0u; t < pc.iters; ++t, j += WIDTH) {
    const bool valid = j < pc.units;
    const uint jj = valid ? j : 0u;
    const vec4 prod = UNIT(w4, w1, base + jj) * UNIT(x4, x1, pc.x_off + jj);
    acc += valid ? prod : vec4(0.0);
  }
  const float s = workgroup_sum(vec2(hsum(acc), 0.0)).x;
  if (gl_LocalInvocationID.x == 0u) outv[chunk * pc.rows + row] = s;
}
