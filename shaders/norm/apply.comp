#version 450
// norm/apply.glsl with scalar units (any shape).
#define VEC 1
#include "norm/norm.glsl"
#include "norm/apply.glsl"
