#version 450
// The scale's gradient, pass 1: out[z, r] = sum over chunk z of row r of
// dy[r, p] x[r, p], p in [z chunk, min(plane, (z + 1) chunk)), in order
// (workgroup row y = chunk z). With one chunk, out is ds itself; otherwise
// dense/split_reduce adds the chunks in order. All lanes of a group share z
// and so loop alike; the chunk (4096 values) bounds each lane's loop.
// VEC4 (plane % 4 == 0: every row starts on a vec4): 16-byte loads into four
// running sums, added as (s.x + s.y) + (s.z + s.w).
#include "common.glsl"
layout(constant_id = 0) const uint VEC4 = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };      // [R, plane]
layout(std430, set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(std430, set = 0, binding = 2) readonly buffer DY { float dy[]; };    // [R, plane]
layout(std430, set = 0, binding = 2) readonly buffer DY4 { vec4 dy4[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Out { float out_[]; };  // [R] or [splits, R]

layout(push_constant) uniform Push { uint rows, plane, chunk; } pc;

void main() {
  uint z = gl_WorkGroupID.y;
  uint begin = z * pc.chunk, end = min(pc.plane, begin + pc.chunk);
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint r = gl_GlobalInvocationID.x; r < pc.rows; r += stride) {
    uint row = r * pc.plane;
    float sum = 0.0;
    if (VEC4 != 0u) {
      vec4 s4 = vec4(0.0);
      for (uint i = (row + begin) / 4u; i < (row + end) / 4u; ++i) s4 += x4[i] * dy4[i];
      sum = (s4.x + s4.y) + (s4.z + s4.w);
    } else {
      for (uint i = row + begin; i < row + end; ++i) sum += x[i] * dy[i];
    }
    out_[z * pc.rows + r] = sum;
  }
}
