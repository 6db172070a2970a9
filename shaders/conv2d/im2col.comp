#version 450
// cols[b, ck, p] = x[b, c, oh*SH - PH + i*DH, ow*SW - PW + j*DW] (0 outside),
// ck = (c*KH + i)*KW + j over all C input channels, p = oh*OW + ow.
// x: [B, C, H, W]; cols: [B, C*KH*KW, OH*OW]. Dispatch: x over p, y over ck,
// z over the batch; one value per lane, no loop.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Cols { float cols[]; };

#include "conv2d/conv2d_geometry.glsl"

void main() {
  uint p = gl_GlobalInvocationID.x;
  uint plane = pc.OH * pc.OW;
  if (p >= plane) return;
  uint ck = gl_WorkGroupID.y;
  uint b = gl_WorkGroupID.z;
  uint kk = pc.KH * pc.KW;
  uint c = ck / kk;
  uint r = ck - c * kk;
  uint i = r / pc.KW;
  uint j = r - i * pc.KW;
  uint oh = p / pc.OW;
  uint ow = p - oh * pc.OW;
  int h = int(oh * pc.SH + i * pc.DH) - int(pc.PH);
  int w = int(ow * pc.SW + j * pc.DW) - int(pc.PW);
  bool inside = h >= 0 && h < int(pc.H) && w >= 0 && w < int(pc.W);
  uint src = ((b * pc.C + c) * pc.H + uint(clamp(h, 0, int(pc.H) - 1))) * pc.W +
             uint(clamp(w, 0, int(pc.W) - 1));
  cols[(b * pc.C * kk + ck) * plane + p] = inside ? x[src] : 0.0;
}
