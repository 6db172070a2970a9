#version 450
// im2col (conv2d/im2col.glsl), one value per lane, x read from a storage
// buffer: every device.
#include "conv2d/im2col.glsl"

layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Cols { float cols[]; };

float load_x(uint index) { return x[index]; }

void main() {
  uint p = gl_GlobalInvocationID.x;
  uint plane = pc.OH * pc.OW;
  if (p >= plane) return;
  uint ck = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  cols[(b * pc.C * pc.KH * pc.KW + ck) * plane + p] = im2col_value(b, ck, p);
}
