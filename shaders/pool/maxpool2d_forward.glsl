// Max pooling with PyTorch's CPU semantics (return_indices=True):
//   y[p, oh, ow]   = max over the window's real taps (padding never wins)
//   arg[p, oh, ow] = ih * W + iw of the winner within its plane
// Taps are scanned row-major over (i, j); a value replaces the running
// maximum when it is greater or NaN (PyTorch's `val > maxval ||
// isnan(val)`): ties keep the first maximum, the last NaN wins, and the
// first real tap always replaces the start (-inf with that tap's index in
// PyTorch, the same result).
// Every lane runs the same kh x kw loop per output with padding taps masked,
// not skipped: 1 + 4 * (1 + kh + kh*kw) iterations per run of 4 outputs,
// which the host keeps inside lavapipe's loop budget.
// maxpool2d_forward_texel.comp reads x through a texel buffer.
// With DROP (pooling dropout) a dropped tap takes part as 0: y is the max
// of x ⊙ mask, and its argmax may name a dropped (zero) tap.
// (The body of maxpool2d_forward.comp and maxpool2d_forward_texel.comp.)
#include "common.glsl"
#include "rng/philox.glsl"
#define POOL_WRITES_Y
#include "pool/pool2d.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };       // [P, H, W]
layout(std430, set = 0, binding = 2) writeonly buffer Y4 { vec4 y4[]; };     // [P, OH, OW]
layout(std430, set = 0, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Arg4 { uvec4 arg4[]; };  // [P, OH, OW]
layout(std430, set = 0, binding = 3) writeonly buffer Arg { uint arg[]; };
#ifdef MAXPOOL_TEXEL
layout(set = 0, binding = 5) uniform samplerBuffer XT;  // x again, r32f
float load_x(uint i) { return texelFetch(XT, int(i)).x; }
#else
float load_x(uint i) { return x[i]; }
#endif

// The maximum of output k (live: k is inside the tensor) and its tap.
void pool(Cursor k, bool live, out float m, out uint best) {
  uint base = k.p * pc.H * pc.W;
  int ih = int(k.r * pc.sh) - int(pc.ph);
  int iw0 = int(k.c * pc.sw) - int(pc.pw);
  m = 0.0;
  best = 0u;
  bool found = false;
  uint kh = LOOP_H != 0u ? LOOP_H : pc.kh, kw = LOOP_W != 0u ? LOOP_W : pc.kw;
  for (uint i = 0u; i < kh; ++i, ih += int(pc.dh)) {
    bool row_ok = live && ih >= 0 && ih < int(pc.H);
    int iw = iw0;
    for (uint j = 0u; j < kw; ++j, iw += int(pc.dw)) {
      bool ok = row_ok && iw >= 0 && iw < int(pc.W);
      uint idx = ok ? uint(ih) * pc.W + uint(iw) : 0u;
      float v = load_x(ok ? base + idx : 0u);
      if (DROP != 0u && ok && !kept(base + idx)) v = 0.0;
      if (ok && (!found || v > m || isnan(v))) {
        m = v;
        best = idx;
        found = true;
      }
    }
  }
}

// The maxima and taps of the 4 outputs from e (those past the tensor: 0).
void pool4(uint e, out vec4 m, out uvec4 a) {
  Cursor k = locate(e, pc.OH, pc.OW);
  pool(k, true, m.x, a.x);
  k = advance(k, pc.OH, pc.OW);
  pool(k, e + 1u < pc.count, m.y, a.y);
  k = advance(k, pc.OH, pc.OW);
  pool(k, e + 2u < pc.count, m.z, a.z);
  k = advance(k, pc.OH, pc.OW);
  pool(k, e + 3u < pc.count, m.w, a.w);
}

void main() {
  uint runs = pc.count / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  vec4 m;
  uvec4 a;
  for (uint q = gl_GlobalInvocationID.x; q < runs; q += stride) {
    pool4(4u * q, m, a);
    y4[q] = m;
    arg4[q] = a;
  }
  // The last count % 4 outputs, by one lane after the loop (see pool2d.glsl).
  uint e = 4u * runs;
  if (gl_GlobalInvocationID.x == 0u && e < pc.count) {
    pool4(e, m, a);
    y[e] = m.x;
    arg[e] = a.x;
    if (e + 1u < pc.count) {
      y[e + 1u] = m.y;
      arg[e + 1u] = a.y;
    }
    if (e + 2u < pc.count) {
      y[e + 2u] = m.z;
      arg[e + 2u] = a.z;
    }
  }
}
