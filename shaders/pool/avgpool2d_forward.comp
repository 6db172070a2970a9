#version 450
// Average pooling with PyTorch's CPU semantics (no dilation):
//   hs = oh*sh - ph, he = min(hs + kh, H + ph)   (clipped to the padded input)
//   pool = (he - hs) * (we - ws), counted before clipping to the input
//   y[p, oh, ow] = sum of the real taps / (count_include_pad ? pool
//                  : real taps (min(he, H) - max(hs, 0)) * (likewise w))
// With the floor output size he <= H + ph, so pool is kh * kw; the clip is
// kept to state PyTorch's formula. Taps are summed row-major like PyTorch;
// every lane runs the same kh x kw loop per output with padding taps masked:
// 1 + 4 * (1 + kh + kh*kw) iterations per run of 4 outputs.
// With DROP (pooling dropout) dropped taps add 0 and the average is scaled
// by drop_scale = 1 / (1 - drop_p): y = avgpool(x ⊙ mask) * drop_scale.
#include "common.glsl"
#include "rng/philox.glsl"
#define POOL_WRITES_Y
#include "pool/pool2d.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };    // [P, H, W]
layout(std430, set = 0, binding = 2) writeonly buffer Y4 { vec4 y4[]; };  // [P, OH, OW]
layout(std430, set = 0, binding = 2) writeonly buffer Y { float y[]; };

float pool(Cursor k, bool live) {
  uint base = k.p * pc.H * pc.W;
  int hs = int(k.r * pc.sh) - int(pc.ph), ws = int(k.c * pc.sw) - int(pc.pw);
  int he = min(hs + int(pc.kh), int(pc.H + pc.ph)), we = min(ws + int(pc.kw), int(pc.W + pc.pw));
  int real = (min(he, int(pc.H)) - max(hs, 0)) * (min(we, int(pc.W)) - max(ws, 0));
  int divisor = pc.count_include_pad != 0u ? (he - hs) * (we - ws) : real;
  float s = 0.0;
  int ih = hs;
  for (uint i = 0u; i < pc.kh; ++i, ++ih) {
    bool row_ok = live && ih >= 0 && ih < int(pc.H);
    int iw = ws;
    for (uint j = 0u; j < pc.kw; ++j, ++iw) {
      bool ok = row_ok && iw >= 0 && iw < int(pc.W);
      float v = x[ok ? base + uint(ih) * pc.W + uint(iw) : 0u];
      s += ok && kept(base + uint(ih) * pc.W + uint(iw)) ? v : 0.0;
    }
  }
  return DROP != 0u ? s / float(divisor) * pc.drop_scale : s / float(divisor);
}

void main() {
  uint runs = (pc.count + 3u) / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint q = gl_GlobalInvocationID.x; q < runs; q += stride) {
    uint e = 4u * q;
    vec4 v;
    Cursor k = locate(e, pc.OH, pc.OW);
    v.x = pool(k, true);
    k = advance(k, pc.OH, pc.OW);
    v.y = pool(k, e + 1u < pc.count);
    k = advance(k, pc.OH, pc.OW);
    v.z = pool(k, e + 2u < pc.count);
    k = advance(k, pc.OH, pc.OW);
    v.w = pool(k, e + 3u < pc.count);
    if (e + 4u <= pc.count) {
      y4[q] = v;
    } else {
      y[e] = v.x;
      if (e + 1u < pc.count) y[e + 1u] = v.y;
      if (e + 2u < pc.count) y[e + 2u] = v.z;
    }
  }
}
