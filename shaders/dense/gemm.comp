#version 450
// C[i, j] = sum_k A(i, k) * B(k, j) (+ bias[j]), for i < M, j < N, k < K,
// with A(i, k) = a[i*a_rs + k*a_ks] and B(k, j) = b[k*b_ks + j*b_cs]: strides
// express every transpose the dense layer needs (forward X·W^T, input
// gradient dY·W, weight gradient dY^T·X) with one kernel.
//
// Batching and split-K: see dense/gemm_common.glsl.
//
// Register blocking without shared memory (docs/devices.md: it beats classic
// shared-memory tiling on lavapipe): each invocation owns a TM x TN block of
// C whose rows and columns are strided by the workgroup size, so neighbouring
// lanes touch neighbouring columns. Out-of-range rows/columns load a clamped
// (valid) address and are simply not stored: no branch in the inner loop.
#include "common.glsl"

layout(constant_id = 0) const uint TM = 4;   // rows per invocation
layout(constant_id = 1) const uint TN = 4;   // columns per invocation
layout(constant_id = 2) const uint WGX = 8;  // invocations along N
layout(constant_id = 3) const uint WGY = 8;  // invocations along M
layout(local_size_x_id = 2, local_size_y_id = 3) in;

layout(std430, set = 0, binding = 1) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bm { float b[]; };
layout(std430, set = 0, binding = 3) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 4) writeonly buffer C { float c[]; };

#include "dense/gemm_common.glsl"

void main() {
  uint row0 = gl_WorkGroupID.y * (WGY * TM) + gl_LocalInvocationID.y;
  uint col0 = gl_WorkGroupID.x * (WGX * TN) + gl_LocalInvocationID.x;
  uint arow[TM];
  uint bcol[TN];
  for (uint i = 0; i < TM; ++i) arow[i] = a_base() + min(row0 + i * WGY, pc.M - 1) * pc.a_rs;
  for (uint j = 0; j < TN; ++j) bcol[j] = b_base() + min(col0 + j * WGX, pc.N - 1) * pc.b_cs;

  float acc[TM][TN];
  for (uint i = 0; i < TM; ++i)
    for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

  uint k1 = k_end();
  for (uint k = k_begin(); k < k1; ++k) {
    float av[TM];
    float bv[TN];
    for (uint i = 0; i < TM; ++i) av[i] = a[arow[i] + k * pc.a_ks];
    for (uint j = 0; j < TN; ++j) bv[j] = b[k * pc.b_ks + bcol[j]];
    for (uint i = 0; i < TM; ++i)
      for (uint j = 0; j < TN; ++j) acc[i][j] += av[i] * bv[j];
  }

  for (uint i = 0; i < TM; ++i) {
    uint r = row0 + i * WGY;
    if (r >= pc.M) break;
    for (uint j = 0; j < TN; ++j) {
      uint col = col0 + j * WGX;
      if (col >= pc.N) break;
      c[c_index(r, col)] = acc[i][j] + bias_of(r, col);
    }
  }
}
