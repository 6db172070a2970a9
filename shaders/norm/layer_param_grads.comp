#version 450
// norm/layer_param_grads.glsl with scalar units (any shape).
#define VEC 1
#include "norm/norm.glsl"
#include "norm/layer_param_grads.glsl"
