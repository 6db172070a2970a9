#version 450
// Max-Drop backward: dx[e] = dropped(e) ? 0 : dy[e], the forward's mask
// regenerated from x, the saved maxima and the same Philox key.
#include "common.glsl"
#include "rng/philox.glsl"
#include "max_drop/max_drop.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 3) readonly buffer DY { float dy[]; };   // [N, C, H, W]
layout(std430, set = 0, binding = 4) writeonly buffer DX { float dx[]; };  // [N, C, H, W]

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) dx[e] = dropped(e) ? 0.0 : dy[e];
}
