// Shared by the 2-d pooling kernels (include after common.glsl and
// rng/philox.glsl): the push block (Pool2dPush in
// src/ops/pool.cpp) over x: [P, H, W] and y: [P, OH, OW], P = N * C planes.
// Window (oh, ow) covers rows ih = oh*sh - ph + i*dh, i < kh, and columns
// iw = ow*sw - pw + j*dw, j < kw; taps outside [0, H) x [0, W) are padding.
//
// Each lane handles a run of 4 consecutive elements of the tensor it writes
// (one 16-byte store; the last partial run through a scalar alias). The
// run's first position costs integer divisions, the next three are stepped
// (integer division is scalar, per lane, on CPU SIMD: it dominated these
// kernels on lavapipe when done per element), and the divisions themselves
// are multiplies by magic numbers (quotient()).
layout(push_constant) uniform Push {
  uint count;        // elements of the tensor this kernel writes
  uint H, W, OH, OW;
  uint kh, kw, sh, sw, ph, pw, dh, dw;
  uint nh, nw;       // backward: at most nh x nw windows contain one element
  uint qh0, rh0;     // ph / sh and ph % sh
  uint qw0, rw0;     // pw / sw and pw % sw
  uint count_include_pad;
  uvec2 div_rows, div_cols;  // magic numbers of the rows and columns locate() divides by
  uvec2 div_sh, div_sw;      // backward: of sh and sw
  uint stream;       // pooling dropout: the layer's Philox stream
  float drop_p;      // pooling dropout: probability of dropping an input
  float drop_scale;  // pooling dropout: the average's inverted scale 1 / (1 - drop_p)
} pc;

// Pooling dropout (Wu & Gu, "Towards dropout training for convolutional
// neural networks"): with DROP = 1 each input element e (flat index in
// [P, H, W]) is kept when philox_uniform(seed, stream, step, 0, e) >= drop_p
// and is otherwise zero before pooling. Backward regenerates the same mask.
// e is counted in the global batch (global_index), so data-parallel ranks
// draw one process's mask: x has P*H*W values, the count of a backward
// kernel (it writes dx); a forward kernel (POOL_WRITES_Y) writes P*OH*OW.
layout(constant_id = 0) const uint DROP = 0u;

// LOOP_H, LOOP_W > 0 (maxpool2d_forward and _backward): the trip counts of
// the kernel's two window loops (forward: kh, kw; backward: nh, nw), known
// when the pipeline is built, so the compiler unrolls the loops; 0: read
// them from the push block.
layout(constant_id = 1) const uint LOOP_H = 0u;
layout(constant_id = 2) const uint LOOP_W = 0u;

bool kept(uint e) {
#ifdef POOL_WRITES_Y
  const uint x_values = pc.count / (pc.OH * pc.OW) * (pc.H * pc.W);
#else
  const uint x_values = pc.count;
#endif
  return DROP == 0u || philox_uniform(P.seed, pc.stream, P.step, 0u, global_index(e, x_values)) >= pc.drop_p;
}

// n / d for n < 2^31 without a division: magic = (m, s) with
// m = ceil(2^(31+l) / d), l = ceil(log2 d), s = l - 1, so that
// n / d = (n * m) >> (32 + s) (Granlund and Montgomery); m = 0 stands for
// d = 1. The host computes the magic (division_magic in src/ops/pool.cpp).
uint quotient(uint n, uvec2 magic) {
  uint hi, lo;
  umulExtended(n, magic.x, hi, lo);
  return magic.x == 0u ? n : hi >> magic.y;
}

// Position (plane p, row r, column c) of a [P, rows, cols] tensor, rows and
// cols being the dimensions that div_rows and div_cols encode.
struct Cursor {
  uint p, r, c;
};

Cursor locate(uint e, uint rows, uint cols) {
  Cursor k;
  uint t = quotient(e, pc.div_cols);
  k.c = e - t * cols;
  k.p = quotient(t, pc.div_rows);
  k.r = t - k.p * rows;
  return k;
}

Cursor advance(Cursor k, uint rows, uint cols) {
  if (++k.c == cols) {
    k.c = 0u;
    if (++k.r == rows) {
      k.r = 0u;
      ++k.p;
    }
  }
  return k;
}

// An input element (p, h, w) for the backward gathers, with
// qh = (h + ph) / sh, rh = (h + ph) % sh (and likewise qw, rw): the last
// window that can contain row h is oh = qh.
struct Gather {
  uint p, h, w, qh, rh, qw, rw;
};

Gather gather_at(uint e) {
  Cursor k = locate(e, pc.H, pc.W);
  Gather g;
  g.p = k.p;
  g.h = k.r;
  g.w = k.c;
  g.qh = quotient(g.h + pc.ph, pc.div_sh);
  g.rh = g.h + pc.ph - g.qh * pc.sh;
  g.qw = quotient(g.w + pc.pw, pc.div_sw);
  g.rw = g.w + pc.pw - g.qw * pc.sw;
  return g;
}

Gather gather_next(Gather g) {
  ++g.w;
  if (++g.rw == pc.sw) {
    g.rw = 0u;
    ++g.qw;
  }
  if (g.w == pc.W) {
    g.w = 0u;
    g.qw = pc.qw0;
    g.rw = pc.rw0;
    ++g.h;
    if (++g.rh == pc.sh) {
      g.rh = 0u;
      ++g.qh;
    }
    if (g.h == pc.H) {
      g.h = 0u;
      g.qh = pc.qh0;
      g.rh = pc.rh0;
      ++g.p;
    }
  }
  return g;
}
