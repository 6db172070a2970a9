#version 450
// The second half of split-K: c[i, j] = sum_z partial[z, i, j] (+ bias[j]),
// z = 0..splits-1 in order, so the sum is deterministic. partial is [splits,
// M, N] contiguous; c has row stride c_rs.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Partial { float part[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 3) writeonly buffer C { float c[]; };

layout(push_constant) uniform Push { uint M, N, splits, c_rs, has_bias; } pc;

void main() {
  uint count = pc.M * pc.N;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < count; e += stride) {
    float s = 0.0;
    for (uint z = 0; z < pc.splits; ++z) s += part[z * count + e];
    uint j = e % pc.N;
    c[(e / pc.N) * pc.c_rs + j] = s + (pc.has_bias != 0u ? bias[j] : 0.0);
  }
}
