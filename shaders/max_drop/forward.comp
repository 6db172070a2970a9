#version 450
// Max-Drop forward (training): y[e] = dropped(e) ? 0 : x[e] (max_drop.glsl),
// after max_drop/reduce wrote each group's maximum. One element per lane.
#include "common.glsl"
#include "rng/philox.glsl"
#include "max_drop/max_drop.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 3) writeonly buffer Y { float y[]; };  // [N, C, H, W]

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) y[e] = dropped(e) ? 0.0 : x[e];
}
