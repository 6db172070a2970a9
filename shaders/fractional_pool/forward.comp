#version 450
// Fractional max pooling forward, after fractional_pool/regions:
//   y[p, oh, ow]   = max over the region's taps (at most 3 x 3)
//   arg[p, oh, ow] = ih * W + iw of the winner within its plane
// with max pooling's rules (pool/maxpool2d_forward.comp): taps row-major, a
// value replaces the maximum when greater or NaN, so ties keep the first.
// One output per lane; every lane runs the same 3 x 3 loop, taps outside
// the region masked.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Regions { uint regions[]; };  // [P, OH + OW + 2]
layout(std430, set = 0, binding = 2) readonly buffer X { float x[]; };          // [P, H, W]
layout(std430, set = 0, binding = 3) writeonly buffer Y { float y[]; };         // [P, OH, OW]
layout(std430, set = 0, binding = 4) writeonly buffer Arg { uint arg[]; };      // [P, OH, OW]
#include "fractional_pool/fractional_pool.glsl"

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) {
    uint ow = e % pc.OW, t = e / pc.OW;
    uint oh = t % pc.OH, p = t / pc.OH;
    uint h0 = row_bound(p, oh), h1 = row_bound(p, oh + 1u) + pc.overlapping;
    uint w0 = col_bound(p, ow), w1 = col_bound(p, ow + 1u) + pc.overlapping;
    uint base = p * pc.H * pc.W;
    float m = 0.0;
    uint best = 0u;
    bool found = false;
    for (uint i = 0u; i < 3u; ++i) {
      for (uint j = 0u; j < 3u; ++j) {
        bool ok = h0 + i < h1 && w0 + j < w1;
        uint idx = ok ? (h0 + i) * pc.W + w0 + j : 0u;
        float v = x[base + idx];
        if (ok && (!found || v > m || isnan(v))) {
          m = v;
          best = idx;
          found = true;
        }
      }
    }
    y[e] = m;
    arg[e] = best;
  }
}
