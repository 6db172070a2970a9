#version 450
// Spectral normalisation, power iteration: t = W^T u, t[j] = sum_o W[o, j] u[o].
// Lane j owns column unit j (4 columns with VEC4) and loops over the rows of
// its slice z, [z*row_chunk, min(rows, (z+1)*row_chunk)), row_chunk <=
// 16,384 (lavapipe's loop budget); out[z, :] is then t itself (one slice) or
// a partial that dense/split_reduce adds in slice order.
#include "weight_norm/weight_norm.glsl"

layout(std430, set = 0, binding = 1) readonly buffer W { vec4 w4[]; };  // [rows, cols]
layout(std430, set = 0, binding = 1) readonly buffer W1 { float w1[]; };
layout(std430, set = 0, binding = 2) readonly buffer UV { float uv[]; };  // u at 0
layout(std430, set = 0, binding = 2) readonly buffer UV4 { vec4 u4[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Out { vec4 out4[]; };  // [slices, cols]
layout(std430, set = 0, binding = 3) writeonly buffer Out1 { float out1[]; };

layout(push_constant) uniform Push { uint rows, units, row_chunk; } pc;

void main() {
  const uint j = gl_GlobalInvocationID.x;
  const bool valid = j < pc.units;
  const uint z = gl_WorkGroupID.z;
  const uint o0 = z * pc.row_chunk, o1 = min(pc.rows, o0 + pc.row_chunk);
  // Lanes past the last column run the same loop on column 0 and store nothing.
  uint at = o0 * pc.units + (valid ? j : 0u);
  vec4 acc = vec4(0.0);
  // Four rows per step with one vec4 load of u (o0 is a multiple of 4): the
  // lane-uniform u loads cost per lane on lavapipe, as scalar loads do.
  const uint o4 = o0 + (o1 - o0) / 4u * 4u;
  const uint U = pc.units;
  uint o = o0;
  for (; o < o4; o += 4u, at += 4u * U) {
    const vec4 u = u4[o / 4u];
    acc += UNIT(w4, w1, at) * u.x;
    acc += UNIT(w4, w1, at + U) * u.y;
    acc += UNIT(w4, w1, at + 2u * U) * u.z;
    acc += UNIT(w4, w1, at + 3u * U) * u.w;
  }
  for (; o < o1; ++o, at += U) acc += UNIT(w4, w1, at) * uv[o];
  if (valid) {
    if (VEC4 != 0u) out4[z * pc.units + j] = acc;
    else out1[z * pc.units + j] = acc.x;
  }
}
