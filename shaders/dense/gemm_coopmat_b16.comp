#version 450
// dense/gemm_coopmat.glsl with B in fp16 storage (conv2d's fp16 im2col
// columns, Context::fp16_columns): loaded as is.
#extension GL_EXT_shader_16bit_storage : require
#include "dense/gemm_coopmat.glsl"

layout(std430, set = 0, binding = 2) readonly buffer Bm { float16_t bh[]; };

float16_t load_b(uint index) { return bh[index]; }
