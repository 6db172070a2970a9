#version 450
// Global average pooling, pass 1: x: [R, L] (R = N*C rows, L = H*W) ->
// out[z, r] = sum of chunk z of row r, x[r, z*chunk .. min(L, (z+1)*chunk)),
// summed in order (workgroup row y = chunk z). With a single chunk (MEAN)
// the kernel writes y[r] = sum / L itself; otherwise pool/global_avgpool_reduce
// adds the partials in chunk order. All lanes of a group share z, so they
// loop alike; chunk (4096) bounds each lane's loop.
// VEC4 (L % 4 == 0, so every row starts on a vec4): 16-byte loads into four
// running sums, added as (s.x + s.y) + (s.z + s.w).
#include "common.glsl"
layout(constant_id = 0) const uint VEC4 = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };     // [R, L]
layout(std430, set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Out { float out_[]; };  // [R] or [splits, R]

layout(push_constant) uniform Push { uint rows, plane, chunk, mean; } pc;

void main() {
  uint z = gl_WorkGroupID.y;
  uint begin = z * pc.chunk, end = min(pc.plane, begin + pc.chunk);
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint r = gl_GlobalInvocationID.x; r < pc.rows; r += stride) {
    uint row = r * pc.plane;
    float s = 0.0;
    if (VEC4 != 0u) {
      vec4 s4 = vec4(0.0);
      for (uint i = (row + begin) / 4u; i < (row + end) / 4u; ++i) s4 += x4[i];
      s = (s4.x + s4.y) + (s4.z + s4.w);
    } else {
      for (uint i = row + begin; i < row + end; ++i) s += x[i];
    }
    out_[z * pc.rows + r] = pc.mean != 0u ? s / float(pc.plane) : s;
  }
}
