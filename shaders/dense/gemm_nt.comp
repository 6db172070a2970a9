#version 450
// C = A·B with k contiguous in both operands (a_ks = b_ks = 1): the dense
// forward pass, X[B, K] · W[N, K]^T. Each lane owns RM x RN outputs, rows and
// columns strided by the workgroup, and reads 4 k at a time from each operand.
#include "dense/gemm_texel.glsl"

void main() {
  uint row0 = gl_WorkGroupID.y * (WGY * RM) + gl_LocalInvocationID.y;
  uint col0 = gl_WorkGroupID.x * (WGX * RN) + gl_LocalInvocationID.x;
  int arow[RM];
  int bcol[RN];
  for (uint i = 0; i < RM; ++i) arow[i] = int(a_base() / 4u) + int(min(row0 + i * WGY, pc.M - 1) * pc.a_rs / 4u);
  for (uint j = 0; j < RN; ++j) bcol[j] = int(b_base() / 4u) + int(min(col0 + j * WGX, pc.N - 1) * pc.b_cs / 4u);
  float acc[RM][RN];
  for (uint i = 0; i < RM; ++i)
    for (uint j = 0; j < RN; ++j) acc[i][j] = 0.0;

  int k1 = int(k_end() / 4u);
  for (int k = int(k_begin() / 4u); k < k1; ++k) {
    vec4 av[RM];
    vec4 bv[RN];
    for (uint i = 0; i < RM; ++i) av[i] = texelFetch(A4, arow[i] + k);
    for (uint j = 0; j < RN; ++j) bv[j] = texelFetch(B4, bcol[j] + k);
    for (uint i = 0; i < RM; ++i)
      for (uint j = 0; j < RN; ++j) acc[i][j] += dot(av[i], bv[j]);
  }
  for (uint i = 0; i < RM; ++i)
    for (uint j = 0; j < RN; ++j) store(row0 + i * WGY, col0 + j * WGX, acc[i][j]);
}
