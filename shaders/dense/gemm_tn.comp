#version 450
// C = A·B with i contiguous in A (a_rs = 1) and j contiguous in B (b_cs = 1):
// the dense weight gradient, dY^T · X, a reduction over the batch. Each lane
// owns RM row vec4s and RN column vec4s (strided groups of 4) and adds one
// outer product per k.
#include "dense/gemm_texel.glsl"

void main() {
  uint rowv0 = gl_WorkGroupID.y * (WGY * RM) + gl_LocalInvocationID.y;  // in vec4s
  uint colv0 = gl_WorkGroupID.x * (WGX * RN) + gl_LocalInvocationID.x;  // in vec4s
  int arow[RM];
  int bcol[RN];
  for (uint i = 0; i < RM; ++i) arow[i] = int(a_base() / 4u) + int(min(rowv0 + i * WGY, pc.M / 4u - 1));
  for (uint j = 0; j < RN; ++j) bcol[j] = int(b_base() / 4u) + int(min(colv0 + j * WGX, pc.N / 4u - 1));
  int astride = int(pc.a_ks / 4u), bstride = int(pc.b_ks / 4u);
  vec4 acc[RM * 4][RN];
  for (uint i = 0; i < RM * 4; ++i)
    for (uint j = 0; j < RN; ++j) acc[i][j] = vec4(0.0);

  int k1 = int(k_end());
  for (int k = int(k_begin()); k < k1; ++k) {
    vec4 av[RM];
    vec4 bv[RN];
    for (uint i = 0; i < RM; ++i) av[i] = texelFetch(A4, k * astride + arow[i]);
    for (uint j = 0; j < RN; ++j) bv[j] = texelFetch(B4, k * bstride + bcol[j]);
    for (uint i = 0; i < RM; ++i)
      for (uint t = 0; t < 4u; ++t)
        for (uint j = 0; j < RN; ++j) acc[4 * i + t][j] += av[i][t] * bv[j];
  }
  for (uint i = 0; i < RM; ++i)
    for (uint t = 0; t < 4u; ++t)
      for (uint j = 0; j < RN; ++j) store4(4u * (rowv0 + i * WGY) + t, 4u * (colv0 + j * WGX), acc[4 * i + t][j]);
}
