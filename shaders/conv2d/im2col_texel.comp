#version 450
// im2col (conv2d/im2col.glsl) with x read through an r32f uniform texel
// buffer and 4 consecutive positions per lane stored as one vec4: on
// lavapipe im2col is bound by per-lane scalar stores. The host picks it only
// when OH*OW is a multiple of 4 (every row of cols then starts 16-byte aligned).
#include "conv2d/im2col.glsl"

layout(std430, set = 0, binding = 2) writeonly buffer Cols4 { vec4 cols4[]; };
layout(set = 0, binding = 5) uniform samplerBuffer X;

float load_x(uint index) { return texelFetch(X, int(index)).x; }

void main() {
  uint plane = pc.OH * pc.OW;
  uint p = gl_GlobalInvocationID.x * 4u;
  if (p >= plane) return;
  uint ck = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  vec4 v = vec4(im2col_value(b, ck, p), im2col_value(b, ck, p + 1u), im2col_value(b, ck, p + 2u),
                im2col_value(b, ck, p + 3u));
  cols4[((b * pc.C * pc.KH * pc.KW + ck) * plane + p) / 4u] = v;
}
