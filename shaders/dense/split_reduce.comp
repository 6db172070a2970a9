#version 450
// The second half of split-K (and of batch-reduced products): for each of
// `outputs` results o, c[c_off + o*c_bs + i*c_rs + j] = sum_s partial[o*splits + s,
// i, j] (+ bias), s = 0..splits-1 in order, so the sum is deterministic.
// partial is [outputs*splits, M, N] contiguous. A lane sums `splits` values:
// the caller keeps splits far inside lavapipe's loop budget.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Partial { float part[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 3) writeonly buffer C { float c[]; };

layout(push_constant) uniform Push {
  uint M, N, splits, c_rs, bias_mode;  // bias_mode: 0 none, 1 per column, 2 per row
  uint outputs, c_bs, c_off, bias_off;
} pc;

void main() {
  uint mn = pc.M * pc.N;
  uint count = pc.outputs * mn;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < count; e += stride) {
    uint o = e / mn;
    uint ij = e - o * mn;
    uint i = ij / pc.N;
    uint j = ij - i * pc.N;
    float s = 0.0;
    for (uint z = 0; z < pc.splits; ++z) s += part[(o * pc.splits + z) * mn + ij];
    if (pc.bias_mode == 1u) s += bias[pc.bias_off + j];
    if (pc.bias_mode == 2u) s += bias[pc.bias_off + i];
    c[pc.c_off + o * pc.c_bs + i * pc.c_rs + j] = s;
  }
}
