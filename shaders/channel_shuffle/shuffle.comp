#version 450
// Channel shuffle as a gather over [B, C, plane] (src/ops/channel_shuffle.h):
//   dst[b, c, p] = src[b, (c % g) * (C / g) + c / g, p]
// With g = groups this is the forward (y[b, i g + j] = x[b, j n + i], n =
// C / g); with g = C / groups it is the inverse permutation, the backward.
// One lane per value (VEC4 = 1: per 4 values of a plane whose length is a
// multiple of 4, so pc.count and pc.plane count vec4s), grid-stride: at most
// 2^32 / (4 * 64 * 65535) < 257 iterations per lane.
#include "common.glsl"
layout(constant_id = 0) const uint VEC4 = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Src { float src[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Dst { float dst[]; };
layout(std430, set = 0, binding = 1) readonly buffer Src4 { vec4 src4[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Dst4 { vec4 dst4[]; };

layout(push_constant) uniform Push { uint count, plane, channels, groups; } pc;

void main() {
  uint per_group = pc.channels / pc.groups;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) {
    uint row = e / pc.plane;  // b * C + c
    uint p = e - row * pc.plane;
    uint b = row / pc.channels;
    uint c = row - b * pc.channels;
    uint from = ((b * pc.channels + (c % pc.groups) * per_group + c / pc.groups) * pc.plane) + p;
    if (VEC4 != 0u)
      dst4[e] = src4[from];
    else
      dst[e] = src[from];
  }
}
