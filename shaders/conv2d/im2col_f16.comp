#version 450
// im2col (conv2d/im2col.glsl) into fp16 columns: one value per lane, x read
// from a storage buffer, each column value rounded to float16_t (16-bit
// storage, no fp16 arithmetic). Read back by dense/gemm_b16 or
// dense/gemm_coopmat_b16, which accumulate in fp32 (Context::fp16_columns).
#extension GL_EXT_shader_16bit_storage : require
#include "conv2d/im2col.glsl"

layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Cols { float16_t cols[]; };

float load_x(uint index) { return x[index]; }

void main() {
  uint p = gl_GlobalInvocationID.x;
  uint plane = pc.OH * pc.OW;
  if (p >= plane) return;
  uint ck = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  cols[(b * pc.C * pc.KH * pc.KW + ck) * plane + p] = float16_t(im2col_value(b, ck, p));
}
