#version 450
// dx = dy where y > 0, else 0 (y = relu(x); the subgradient at 0 is 0, as
// in PyTorch).
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 1) readonly buffer Y { float y[]; };
layout(std430, set = 0, binding = 2) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 3) writeonly buffer DX { float dx[]; };
layout(push_constant) uniform Push { uint count; } pc;

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride)
    dx[e] = y[e] > 0.0 ? dy[e] : 0.0;
}
