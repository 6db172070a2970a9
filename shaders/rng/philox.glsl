// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC 2011): a counter-based generator. The same (counter, key) gives the
// same four words on every device, so a kernel can regenerate in backward
// the mask it drew in forward instead of storing it.
// tests/reference/rng.cpp computes the same integers; tests/ops/rng_test.cpp
// checks both against the published known-answer vectors.
//
// Fovea's keying (every random layer and augmentation uses it):
//   key     = (seed, stream)            stream: the layer's node index, or a
//                                       fixed id for each augmentation
//   counter = (element >> 2, step, purpose, 0); the word is element & 3
// so one call serves four consecutive elements. `purpose` separates the
// draws of one layer and step (0: the mask, 1 and 2: Box-Muller's second
// uniform, ...). The rounds are written out: lavapipe's loop cap counts loop
// iterations, not instructions.

#include "portable_math.glsl"

const uint PHILOX_M0 = 0xD2511F53u, PHILOX_M1 = 0xCD9E8D57u;
const uint PHILOX_W0 = 0x9E3779B9u, PHILOX_W1 = 0xBB67AE85u;

uvec4 philox_round(uvec4 c, uvec2 k) {
  uint hi0, lo0, hi1, lo1;
  umulExtended(PHILOX_M0, c.x, hi0, lo0);
  umulExtended(PHILOX_M1, c.z, hi1, lo1);
  return uvec4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
}

#define PHILOX_BUMP(k) k += uvec2(PHILOX_W0, PHILOX_W1)

uvec4 philox4x32(uvec4 c, uvec2 k) {
  c = philox_round(c, k); PHILOX_BUMP(k);
  c = philox_round(c, k); PHILOX_BUMP(k);
  c = philox_round(c, k); PHILOX_BUMP(k);
  c = philox_round(c, k); PHILOX_BUMP(k);
  c = philox_round(c, k); PHILOX_BUMP(k);
  c = philox_round(c, k); PHILOX_BUMP(k);
  c = philox_round(c, k); PHILOX_BUMP(k);
  c = philox_round(c, k); PHILOX_BUMP(k);
  c = philox_round(c, k); PHILOX_BUMP(k);
  return philox_round(c, k);
}

// The 32-bit word for one element under Fovea's keying.
uint philox_bits(uint seed, uint stream, uint step, uint purpose, uint element) {
  uvec4 r = philox4x32(uvec4(element >> 2, step, purpose, 0u), uvec2(seed, stream));
  uint w = element & 3u;
  return w == 0u ? r.x : w == 1u ? r.y : w == 2u ? r.z : r.w;
}

// Uniform in [0, 1) with 24 bits: u < p keeps with probability exactly
// round-to-24-bits(p).
float philox_uniform(uint seed, uint stream, uint step, uint purpose, uint element) {
  return float(philox_bits(seed, stream, step, purpose, element) >> 8) * (1.0 / 16777216.0);
}

// N(0, 1) by Box-Muller from the uniforms of `purpose` and `purpose + 1`.
float philox_normal(uint seed, uint stream, uint step, uint purpose, uint element) {
  float u1 = float(philox_bits(seed, stream, step, purpose, element) >> 8) * (1.0 / 16777216.0);
  float u2 = float(philox_bits(seed, stream, step, purpose + 1u, element) >> 8) * (1.0 / 16777216.0);
  return sqrt(-2.0 * fv_log(1.0 - u1)) * fv_cos_turns(u2);  // 1 - u1 in (0, 1]
}
