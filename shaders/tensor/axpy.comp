#version 450
// y[e s] = beta a[e s] + alpha b[e s] for e < count, s = stride: an auxiliary
// head's weighted loss gradient (in place, beta 0) and its weighted per-row
// loss added to the model's (stride 2: the loss column of [rows, 2] stats).
// Each value is read and written by the same invocation, so y may be a or b.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 2) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push { uint count, stride; float alpha, beta; } pc;

void main() {
  uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += step) {
    uint i = e * pc.stride;
    y[i] = pc.beta * a[i] + pc.alpha * b[i];
  }
}
