#version 450
// y = a + b over `count` values (residual connections, and summing the
// gradient contributions of a tensor that feeds several layers). With
// COPY = 1, y = a (b is not read). vec4 access with a scalar tail.
#include "common.glsl"
layout(constant_id = 0) const uint COPY = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer A4 { vec4 a4[]; };
layout(std430, set = 0, binding = 2) readonly buffer B4 { vec4 b4[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y4 { vec4 y4[]; };
layout(std430, set = 0, binding = 1) readonly buffer A1 { float a[]; };
layout(std430, set = 0, binding = 2) readonly buffer B1 { float b[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y1 { float y[]; };

layout(push_constant) uniform Push { uint count; } pc;

void main() {
  uint n4 = pc.count / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < n4; e += stride)
    y4[e] = COPY != 0u ? a4[e] : a4[e] + b4[e];
  if (gl_GlobalInvocationID.x == 0u)
    for (uint e = 4u * n4; e < pc.count; ++e) y[e] = COPY != 0u ? a[e] : a[e] + b[e];
}
