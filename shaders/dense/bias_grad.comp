#version 450
// db[j] = sum_b dy[b, j] over all rows (padding rows carry dy = 0), in row
// order. Split like the GEMM: workgroup z sums rows [z*row_split, ...) and,
// when there are several, writes its partial at out + z*N for
// dense/split_reduce to add up; no invocation loops more than row_split times.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };  // [B, N]
layout(std430, set = 0, binding = 2) writeonly buffer DB { float db[]; }; // [splits, N]

layout(push_constant) uniform Push { uint rows, N, row_split; } pc;

void main() {
  uint j = gl_GlobalInvocationID.x;
  if (j >= pc.N) return;
  uint r0 = gl_WorkGroupID.z * pc.row_split;
  uint r1 = min(pc.rows, r0 + pc.row_split);
  float s = 0.0;
  for (uint r = r0; r < r1; ++r) s += dy[r * pc.N + j];
  db[gl_WorkGroupID.z * pc.N + j] = s;
}
