#version 450
// norm/reduce.glsl with scalar units (any shape).
#define VEC 1
#include "norm/norm.glsl"
#include "norm/reduce.glsl"
