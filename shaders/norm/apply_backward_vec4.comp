#version 450
// norm/apply_backward.glsl with vec4 units (H*W a multiple of 4).
#define VEC 4
#include "norm/norm.glsl"
#include "norm/apply_backward.glsl"
