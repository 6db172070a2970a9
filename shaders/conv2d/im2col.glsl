// cols[b, ck, p] = x[b, c, oh*SH - PH + i*DH, ow*SW - PW + j*DW] (0 outside),
// ck = (c*KH + i)*KW + j over all C input channels, p = oh*OW + ow.
// x: [B, C, H, W]; cols: [B, C*KH*KW, OH*OW]. Dispatch: x over p, y over ck,
// z over the batch; no loop. The including kernel defines load_x(index): a
// storage-buffer read (im2col.comp, portable) or a texel fetch
// (im2col_texel.comp, a vector gather on lavapipe, with 16-byte stores).
#include "common.glsl"
layout(local_size_x = 64) in;

#include "conv2d/conv2d_geometry.glsl"

float load_x(uint index);

// cols[b, ck, p] for p < OH*OW.
float im2col_value(uint b, uint ck, uint p) {
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
  float v = load_x(src);  // unconditional (the address is clamped): a select, not a branch
  return inside ? v : 0.0;
}
