#version 450
// Weight standardization, forward, for rows longer than one chunk (after
// ws_reduce and ws_finalize): W_hat[o, j] = (W[o, j] - saved[o]) saved[rows + o],
// workgroup (c, o) writing chunk c of row o.
#include "weight_norm/weight_norm.glsl"

layout(std430, set = 0, binding = 1) readonly buffer W { vec4 w4[]; };      // [rows, cols]
layout(std430, set = 0, binding = 1) readonly buffer W1 { float w1[]; };
layout(std430, set = 0, binding = 2) readonly buffer Saved { float saved[]; };  // [2, rows]
layout(std430, set = 0, binding = 3) writeonly buffer WHat { vec4 wh4[]; }; // [rows, cols]
layout(std430, set = 0, binding = 3) writeonly buffer WHat1 { float wh1[]; };

layout(push_constant) uniform Push { uint rows, cols, units, iters; } pc;

void main() {
  uint row;
  if (!workgroup_row(pc.rows, row)) return;
  const uint base = row * pc.units;
  const float mean = saved[row], invstd = saved[pc.rows + row];
  uint j = first_unit(gl_WorkGroupID.x, pc.iters);
  for (uint t = 0u; t < pc.iters; ++t, j += WIDTH) {
    if (j < pc.units) {
      if (VEC4 != 0u) wh4[base + j] = (w4[base + j] - mean) * invstd;
      else wh1[base + j] = (w1[base + j] - mean) * invstd;
    }
  }
}
