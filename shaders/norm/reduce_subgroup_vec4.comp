#version 450
#extension GL_KHR_shader_subgroup_arithmetic : require
// norm/reduce.glsl with vec4 units (H*W a multiple of 4), lane sums added by
// subgroupAdd (the fast path; devices with subgroup arithmetic in compute).
#define VEC 4
#define FOVEA_SUBGROUP_REDUCE
#include "norm/norm.glsl"
#include "norm/reduce.glsl"
