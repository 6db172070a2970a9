#version 450
// Channel concatenation and its gradient, as a strided copy between
// x: [B, Cx, plane] and y: [B, Cy, plane] at channel offset `offset`:
//   forward (TO_Y = 1):  y[b, offset + c, p] = x[b, c, p]
//   backward (TO_Y = 0): x[b, c, p] = y[b, offset + c, p]
// Dispatch: x over p, y over c, z over b; one value per lane.
#include "common.glsl"
layout(constant_id = 0) const uint TO_Y = 1;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Src { float src[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Dst { float dst[]; };

layout(push_constant) uniform Push { uint cx, cy, plane, offset; } pc;

void main() {
  uint p = gl_GlobalInvocationID.x;
  if (p >= pc.plane) return;
  uint c = gl_WorkGroupID.y;
  uint b = gl_WorkGroupID.z;
  uint xi = (b * pc.cx + c) * pc.plane + p;
  uint yi = (b * pc.cy + pc.offset + c) * pc.plane + p;
  if (TO_Y != 0u)
    dst[yi] = src[xi];
  else
    dst[xi] = src[yi];
}
