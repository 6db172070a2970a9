#version 450
// dense/gemm with B in fp16 storage (conv2d's fp16 im2col columns): each
// B value is widened to fp32 on load and every product and sum is fp32.
// Bindings, push constants and the register blocking (TM x TN outputs per
// invocation strided by the workgroup, clamped loads, no shared memory) are
// those of dense/gemm.comp. Needs storageBuffer16BitAccess only.
#extension GL_EXT_shader_16bit_storage : require
#include "common.glsl"

layout(constant_id = 0) const uint TM = 4;
layout(constant_id = 1) const uint TN = 4;
layout(constant_id = 2) const uint WGX = 8;
layout(constant_id = 3) const uint WGY = 8;
layout(local_size_x_id = 2, local_size_y_id = 3) in;

layout(std430, set = 0, binding = 1) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bm { float16_t bh[]; };
layout(std430, set = 0, binding = 3) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 4) writeonly buffer C { float c[]; };

#include "dense/gemm_common.glsl"

void main() {
  const uvec2 first = gl_WorkGroupID.yx * uvec2(WGY * TM, WGX * TN) + gl_LocalInvocationID.yx;
  float acc[TM][TN];
  uint arow[TM], bcol[TN];
  for (uint i = 0; i < TM; ++i) {
    arow[i] = a_base() + min(first.x + i * WGY, pc.M - 1) * pc.a_rs;
    for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;
  }
  for (uint j = 0; j < TN; ++j) bcol[j] = b_base() + min(first.y + j * WGX, pc.N - 1) * pc.b_cs;
  const uint k_last = k_end();
  for (uint k = k_begin(); k < k_last; ++k) {
    float bk[TN];
    for (uint j = 0; j < TN; ++j) bk[j] = float(bh[k * pc.b_ks + bcol[j]]);
    for (uint i = 0; i < TM; ++i) {
      const float ak = a[arow[i] + k * pc.a_ks];
      for (uint j = 0; j < TN; ++j) acc[i][j] += ak * bk[j];
    }
  }
  for (uint i = 0; i < TM && first.x + i * WGY < pc.M; ++i)
    for (uint j = 0; j < TN && first.y + j * WGX < pc.N; ++j) {
      const uint r = first.x + i * WGY, col = first.y + j * WGX;
      c[c_index(r, col)] = acc[i][j] + bias_of(r, col);
    }
}
