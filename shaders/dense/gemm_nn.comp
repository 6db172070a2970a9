#version 450
// C = A·B with k contiguous in A (a_ks = 1) and j contiguous in B (b_cs = 1):
// the dense input gradient, dY[B, N] · W[N, K]. Each lane owns RM rows
// (strided) and RN column vec4s (strided groups of 4 contiguous columns).
#include "dense/gemm_texel.glsl"

void main() {
  uint row0 = gl_WorkGroupID.y * (WGY * RM) + gl_LocalInvocationID.y;
  uint colv0 = gl_WorkGroupID.x * (WGX * RN) + gl_LocalInvocationID.x;  // in vec4s
  uint N4 = pc.N / 4u;
  int arow[RM];
  int bcol[RN];
  for (uint i = 0; i < RM; ++i) arow[i] = int(a_base() / 4u) + int(min(row0 + i * WGY, pc.M - 1) * pc.a_rs / 4u);
  for (uint j = 0; j < RN; ++j) bcol[j] = int(b_base() / 4u) + int(min(colv0 + j * WGX, N4 - 1));
  int bstride = int(pc.b_ks / 4u);
  vec4 acc[RM][RN];
  for (uint i = 0; i < RM; ++i)
    for (uint j = 0; j < RN; ++j) acc[i][j] = vec4(0.0);

  int k1 = int(k_end() / 4u);
  for (int k = int(k_begin() / 4u); k < k1; ++k) {
    vec4 av[RM];
    for (uint i = 0; i < RM; ++i) av[i] = texelFetch(A4, arow[i] + k);
    int brow = 4 * k * bstride;
    for (uint j = 0; j < RN; ++j) {
      vec4 b0 = texelFetch(B4, brow + bcol[j]);
      vec4 b1 = texelFetch(B4, brow + bstride + bcol[j]);
      vec4 b2 = texelFetch(B4, brow + 2 * bstride + bcol[j]);
      vec4 b3 = texelFetch(B4, brow + 3 * bstride + bcol[j]);
      for (uint i = 0; i < RM; ++i)
        acc[i][j] += av[i].x * b0 + av[i].y * b1 + av[i].z * b2 + av[i].w * b3;
    }
  }
  for (uint i = 0; i < RM; ++i)
    for (uint j = 0; j < RN; ++j) store4(row0 + i * WGY, 4u * (colv0 + j * WGX), acc[i][j]);
}
