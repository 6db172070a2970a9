#version 450
// Pyramid decimation: y[b, c, i, j] = x[b, c, 2i, 2j] for x: [B, C, H, W]
// and y: [B, C, ceil(H/2), ceil(W/2)]. The input is blurred first, so
// keeping every second pixel does not alias.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Src { float src[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Dst { float dst[]; };

layout(push_constant) uniform Push {
  uint count;  // B * C * ceil(H/2) * ceil(W/2)
  uint width, height;
} pc;

void main() {
  uint ow = (pc.width + 1u) / 2u, oh = (pc.height + 1u) / 2u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) {
    uint plane = e / (ow * oh);
    uint i = (e % (ow * oh)) / ow, j = e % ow;
    dst[e] = src[(plane * pc.height + 2u * i) * pc.width + 2u * j];
  }
}
