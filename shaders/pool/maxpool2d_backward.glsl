// dx[p, h, w] = sum of dy[p, oh, ow] over the windows (oh, ow) that chose
// (h, w) (arg[p, oh, ow] == h * W + w), added in increasing (oh, ow) order,
// the order of PyTorch's scatter. A gather: one lane per run of 4 input
// elements, no atomics, every element written (0 if never chosen).
// Window oh contains row h only if off = h + ph - oh*sh >= 0, that is
// oh <= (h + ph) / sh, and at most nh = (kh-1)*dh / sh + 1 windows do, so
// each element visits the nh windows ending there (columns likewise), the
// same count for every lane, windows outside the output masked: 1 + 4 * (1
// + nh + nh*nw) iterations per run. Whether h is a tap of a visited window
// (off <= (kh-1)*dh, off % dh == 0) needs no test: a window's argmax is one
// of its taps, so a window that does not contain (h, w) never matches.
// maxpool2d_backward_texel.comp reads arg and dy through texel buffers.
// With DROP the sum is multiplied by the element's regenerated mask: a
// dropped tap that won (as 0) passes no gradient.
// (The body of maxpool2d_backward.comp and maxpool2d_backward_texel.comp.)
#include "common.glsl"
#include "rng/philox.glsl"
#include "pool/pool2d.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Arg { uint arg[]; };   // [P, OH, OW]
layout(std430, set = 0, binding = 2) readonly buffer DY { float dy[]; };    // [P, OH, OW]
layout(std430, set = 0, binding = 3) writeonly buffer DX4 { vec4 dx4[]; };  // [P, H, W]
layout(std430, set = 0, binding = 3) writeonly buffer DX { float dx[]; };
#ifdef MAXPOOL_TEXEL
layout(set = 0, binding = 5) uniform usamplerBuffer ArgT;  // arg again, r32ui
layout(set = 0, binding = 6) uniform samplerBuffer DYT;    // dy again, r32f
#endif

float grad(Gather g, bool live) {
  uint target = g.h * pc.W + g.w;
  uint base = g.p * pc.OH * pc.OW;
  uint nh = LOOP_H != 0u ? LOOP_H : pc.nh, nw = LOOP_W != 0u ? LOOP_W : pc.nw;
  int oh = int(g.qh) - int(nh) + 1;
  int ow0 = int(g.qw) - int(nw) + 1;
  float s = 0.0;
  for (uint a = 0u; a < nh; ++a, ++oh) {
    bool row_ok = live && oh >= 0 && oh < int(pc.OH);
    int ow = ow0;
    for (uint b = 0u; b < nw; ++b, ++ow) {
      bool ok = row_ok && ow >= 0 && ow < int(pc.OW);
      uint o = ok ? base + uint(oh) * pc.OW + uint(ow) : 0u;
#ifdef MAXPOOL_TEXEL
      // Unconditional fetches (o is in range) and a select: no branch.
      float d = texelFetch(DYT, int(o)).x;
      if (ok && texelFetch(ArgT, int(o)).x == target) s += d;
#else
      if (ok && arg[o] == target) s += dy[o];
#endif
    }
  }
  return DROP != 0u && live && !kept(g.p * pc.H * pc.W + target) ? 0.0 : s;
}

// The gradients of the 4 elements from e (those past the tensor: 0).
vec4 grads(uint e) {
  vec4 v;
  Gather g = gather_at(e);
  v.x = grad(g, true);
  g = gather_next(g);
  v.y = grad(g, e + 1u < pc.count);
  g = gather_next(g);
  v.z = grad(g, e + 2u < pc.count);
  g = gather_next(g);
  v.w = grad(g, e + 3u < pc.count);
  return v;
}

void main() {
  uint runs = pc.count / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint q = gl_GlobalInvocationID.x; q < runs; q += stride) dx4[q] = grads(4u * q);
  // The last count % 4 elements, by one lane after the loop: lavapipe runs
  // every branch of a loop body under a lane mask, so scalar tail stores
  // inside the loop would cost every iteration (pool2d.glsl).
  uint e = 4u * runs;
  if (gl_GlobalInvocationID.x == 0u && e < pc.count) {
    vec4 v = grads(e);
    dx[e] = v.x;
    if (e + 1u < pc.count) dx[e + 1u] = v.y;
    if (e + 2u < pc.count) dx[e + 2u] = v.z;
  }
}
