#version 450
// Global average pooling, pass 2: y[r] = (sum over z = 0..splits-1, in
// order, of partial[z, r]) / L. Deterministic; splits <= 16,384 (host check).
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Partial { float part[]; };  // [splits, R]
layout(std430, set = 0, binding = 2) writeonly buffer Y { float y[]; };          // [R]

layout(push_constant) uniform Push { uint rows, plane, splits; } pc;

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint r = gl_GlobalInvocationID.x; r < pc.rows; r += stride) {
    float s = 0.0;
    for (uint z = 0u; z < pc.splits; ++z) s += part[z * pc.rows + r];
    y[r] = s / float(pc.plane);
  }
}
