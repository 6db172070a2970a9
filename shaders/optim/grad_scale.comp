#version 450
// Pass 3 of clip_grad_norm_: g: [count] *= scale, scale = norm_scale[1]
// written by grad_norm.comp (min(1, max_norm / (norm + 1e-6))).
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) buffer Grad { float g[]; };
layout(std430, set = 0, binding = 2) readonly buffer NormScale { float ns[]; };

layout(push_constant) uniform Push { uint count; } pc;

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  float scale = ns[1];
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) g[e] *= scale;
}
