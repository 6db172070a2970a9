// Shared by the normalisation kernels (BatchNorm, LayerNorm, InstanceNorm,
// GroupNorm; see src/ops/norm.h). A kernel file defines VEC (1 or 4) before
// including this: tensors are then accessed in units of VEC floats through
// T = float or vec4 (16-byte loads where H*W is a multiple of 4, which
// lavapipe runs ~4x cheaper than scalar loads), with scalar aliases of the
// same bindings for per-channel values.
#include "common.glsl"

#if VEC == 4
#define T vec4
#else
#define T float
#endif

float hsum(float a) { return a; }
float hsum(vec4 a) { return (a.x + a.y) + (a.z + a.w); }

// A unit e of an [N, C, H*W/VEC] tensor, with channels split into G groups of
// Cg (c = g*Cg + ci), as mixed-radix digits: e = ((n*G + g)*Cg + ci)*HW + hw.
// Elementwise kernels walk a grid-stride loop by adding the stride's digits
// with carries, so no integer division runs inside the loop.
struct Pos {
  uint hw, ci, g, n;
};

Pos pos_of(uint e, uint HW, uint Cg, uint G) {
  Pos p;
  p.hw = e % HW;
  e /= HW;
  p.ci = e % Cg;
  e /= Cg;
  p.g = e % G;
  p.n = e / G;
  return p;
}

// p += d (d: the digits of the stride, each below its radix).
void advance(inout Pos p, Pos d, uint HW, uint Cg, uint G) {
  p.hw += d.hw;
  bool carry = p.hw >= HW;
  p.hw -= carry ? HW : 0u;
  p.ci += d.ci + (carry ? 1u : 0u);
  carry = p.ci >= Cg;
  p.ci -= carry ? Cg : 0u;
  p.g += d.g + (carry ? 1u : 0u);
  carry = p.g >= G;
  p.g -= carry ? G : 0u;
  p.n += d.n + (carry ? 1u : 0u);
}
