#version 450
// norm/layer_param_grads.glsl with vec4 units (H*W a multiple of 4).
#define VEC 4
#include "norm/norm.glsl"
#include "norm/layer_param_grads.glsl"
