#version 450
// clip_grad_value_: g: [count] = clamp(g, -value, value), in place.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) buffer Grad { float g[]; };

layout(push_constant) uniform Push {
  uint count;
  float value;
} pc;

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) g[e] = clamp(g[e], -pc.value, pc.value);
}
