#version 450
// dense/gemm_coopmat.glsl with B in fp32 storage, rounded to fp16 on load.
#include "dense/gemm_coopmat.glsl"

layout(std430, set = 0, binding = 2) readonly buffer Bm { float b[]; };

float16_t load_b(uint index) { return float16_t(b[index]); }
