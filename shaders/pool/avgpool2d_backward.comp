#version 450
// dx[p, h, w] = sum over the windows (oh, ow) containing (h, w) of
// dy[p, oh, ow] / divisor(oh, ow) (avgpool2d_forward's divisor), added in
// increasing (oh, ow) order like PyTorch's scatter. A gather, one lane per
// run of 4 input elements: window oh contains row h when 0 <= h + ph -
// oh*sh < kh, so each element visits the nh = (kh-1)/sh + 1 windows ending
// at oh = (h + ph) / sh (columns likewise), the same count for every lane,
// windows that miss (h, w) masked: 1 + 4 * (1 + nh + nh*nw) iterations per run.
// With DROP: dx = that sum * drop_scale for a kept element, 0 for a dropped one.
#include "common.glsl"
#include "rng/philox.glsl"
#include "pool/pool2d.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };    // [P, OH, OW]
layout(std430, set = 0, binding = 2) writeonly buffer DX4 { vec4 dx4[]; };  // [P, H, W]
layout(std430, set = 0, binding = 2) writeonly buffer DX { float dx[]; };

// Taps of a window starting at s over an input of n with padding pad: the
// count PyTorch divides by (clipped to the padded input, or to the real one).
int taps(int s, uint k, uint n, uint pad) {
  int e = min(s + int(k), int(n + pad));
  return pc.count_include_pad != 0u ? e - s : min(e, int(n)) - max(s, 0);
}

float grad(Gather g, bool live) {
  uint base = g.p * pc.OH * pc.OW;
  int oh = int(g.qh) - int(pc.nh) + 1;
  int ow0 = int(g.qw) - int(pc.nw) + 1;
  float s = 0.0;
  for (uint a = 0u; a < pc.nh; ++a, ++oh) {
    int hs = oh * int(pc.sh) - int(pc.ph);
    bool row_ok = live && oh >= 0 && oh < int(pc.OH) && int(g.h) - hs < int(pc.kh);
    int rows = taps(hs, pc.kh, pc.H, pc.ph);
    int ow = ow0;
    for (uint b = 0u; b < pc.nw; ++b, ++ow) {
      int ws = ow * int(pc.sw) - int(pc.pw);
      bool ok = row_ok && ow >= 0 && ow < int(pc.OW) && int(g.w) - ws < int(pc.kw);
      uint o = ok ? base + uint(oh) * pc.OW + uint(ow) : 0u;
      if (ok) s += dy[o] / float(rows * taps(ws, pc.kw, pc.W, pc.pw));
    }
  }
  if (DROP == 0u) return s;
  return live && kept(g.p * pc.H * pc.W + g.h * pc.W + g.w) ? s * pc.drop_scale : 0.0;
}

void main() {
  uint runs = (pc.count + 3u) / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint q = gl_GlobalInvocationID.x; q < runs; q += stride) {
    uint e = 4u * q;
    vec4 v;
    Gather g = gather_at(e);
    v.x = grad(g, true);
    g = gather_next(g);
    v.y = grad(g, e + 1u < pc.count);
    g = gather_next(g);
    v.z = grad(g, e + 2u < pc.count);
    g = gather_next(g);
    v.w = grad(g, e + 3u < pc.count);
    if (e + 4u <= pc.count) {
      dx4[q] = v;
    } else {
      dx[e] = v.x;
      if (e + 1u < pc.count) dx[e + 1u] = v.y;
      if (e + 2u < pc.count) dx[e + 2u] = v.z;
    }
  }
}
