#version 450
// The adjoint of im2col, as a gather: dx[b, c, h, w] = sum over taps (i, j)
// and output positions (oh, ow) with oh*SH - PH + i*DH = h and
// ow*SW - PW + j*DW = w of dcols[b, (c*KH + i)*KW + j, oh*OW + ow].
// Each lane owns one input value and visits KH*KW taps (every lane the same
// count, inside lavapipe's loop budget), so no two lanes write one place.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer DCols { float dcols[]; };
layout(std430, set = 0, binding = 2) writeonly buffer DX { float dx[]; };

#include "conv2d/conv2d_geometry.glsl"

void main() {
  uint plane_in = pc.H * pc.W;
  uint e = gl_GlobalInvocationID.x;
  if (e >= plane_in) return;
  uint c = gl_WorkGroupID.y;
  uint b = gl_WorkGroupID.z;
  uint h = e / pc.W;
  uint w = e - h * pc.W;
  uint kk = pc.KH * pc.KW;
  uint plane = pc.OH * pc.OW;
  uint base = (b * pc.C * kk + c * kk) * plane;
  float s = 0.0;
  for (uint t = 0; t < kk; ++t) {
    uint i = t / pc.KW;
    uint j = t - i * pc.KW;
    // oh*SH = h + PH - i*DH must be a non-negative multiple of SH below OH.
    int ny = int(h + pc.PH) - int(i * pc.DH);
    int nx = int(w + pc.PW) - int(j * pc.DW);
    bool ok = ny >= 0 && nx >= 0 && ny % int(pc.SH) == 0 && nx % int(pc.SW) == 0;
    uint oh = uint(max(ny, 0)) / pc.SH;
    uint ow = uint(max(nx, 0)) / pc.SW;
    ok = ok && oh < pc.OH && ow < pc.OW;
    float v = dcols[base + t * plane + min(oh, pc.OH - 1) * pc.OW + min(ow, pc.OW - 1)];
    s += ok ? v : 0.0;
  }
  dx[(b * pc.C + c) * plane_in + e] = s;
}
