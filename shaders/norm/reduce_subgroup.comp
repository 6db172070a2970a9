#version 450
#extension GL_KHR_shader_subgroup_arithmetic : require
// norm/reduce.glsl with scalar units (any shape), lane sums added by
// subgroupAdd (the fast path; devices with subgroup arithmetic in compute).
#define VEC 1
#define FOVEA_SUBGROUP_REDUCE
#include "norm/norm.glsl"
#include "norm/reduce.glsl"
