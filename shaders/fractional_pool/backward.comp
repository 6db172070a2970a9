#version 450
// Fractional max pooling backward: dx[p, h, w] = sum of dy[p, oh, ow] over
// the regions (oh, ow) whose argmax is h * W + w, in increasing (oh, ow)
// order (the order of a scatter). A gather, one input element per lane:
// the last boundary a_k <= h is found by a binary search (13 fixed steps
// cover 4097 boundaries); region k contains h when k < m, and with
// overlapping regions so does k - 1 when a_k = h. Likewise for columns: at
// most 2 x 2 candidate regions.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Regions { uint regions[]; };  // [P, OH + OW + 2]
layout(std430, set = 0, binding = 2) readonly buffer Arg { uint arg[]; };       // [P, OH, OW]
layout(std430, set = 0, binding = 3) readonly buffer DY { float dy[]; };        // [P, OH, OW]
layout(std430, set = 0, binding = 4) writeonly buffer DX { float dx[]; };       // [P, H, W]
#include "fractional_pool/fractional_pool.glsl"

// Candidate regions of position v along one axis with boundaries at
// regions[at .. at + m]: first and count (0, 1 or 2 regions first, first + 1).
void candidates(uint at, uint m, uint v, out uint first, out uint count) {
  uint lo = 0u, hi = m;  // a_lo <= v; the answer lies in [lo, hi]
  for (uint s = 0u; s < 13u; ++s) {
    uint mid = (lo + hi + 1u) >> 1;
    if (lo < hi && regions[at + mid] <= v) lo = mid;
    else if (lo < hi) hi = mid - 1u;
  }
  bool joint = pc.overlapping != 0u && lo > 0u && regions[at + lo] == v;
  first = joint ? lo - 1u : lo;
  count = (joint ? 1u : 0u) + (lo < m ? 1u : 0u);
}

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) {
    uint w = e % pc.W, t = e / pc.W;
    uint h = t % pc.H, p = t / pc.H;
    uint at = p * (pc.OH + pc.OW + 2u);
    uint oh0, nh, ow0, nw;
    candidates(at, pc.OH, h, oh0, nh);
    candidates(at + pc.OH + 1u, pc.OW, w, ow0, nw);
    uint target = h * pc.W + w;
    uint base = p * pc.OH * pc.OW;
    float s = 0.0;
    for (uint a = 0u; a < 2u; ++a) {
      for (uint b = 0u; b < 2u; ++b) {
        bool ok = a < nh && b < nw;
        uint o = ok ? base + (oh0 + a) * pc.OW + ow0 + b : 0u;
        if (ok && arg[o] == target) s += dy[o];
      }
    }
    dx[e] = s;
  }
}
