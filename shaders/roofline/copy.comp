#version 450
// The roofline's bandwidth probe: y = x over count4 vec4 values, grid-stride
// with few workgroups (ops::record_stream_copy), so its time is the device's
// streaming rate rather than its per-workgroup overhead.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { vec4 x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { vec4 y[]; };

layout(push_constant) uniform Push { uint count4; } pc;

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count4; e += stride) y[e] = x[e];
}
