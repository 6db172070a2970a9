#include "portable_math.glsl"

// A counter-based standard normal sample for (seed, image, index): two
// 32-bit hashes (lowbias32, a xorshift-multiply mixer) give two uniforms
// for Box-Muller. tests/reference/noise.cpp computes the same integers.
uint mix32(uint v) {
  v ^= v >> 16; v *= 0x7feb352du;
  v ^= v >> 15; v *= 0x846ca68bu;
  v ^= v >> 16;
  return v;
}
float normal_sample(uint seed, uint image, uint index) {
  uint h1 = mix32(mix32(mix32(seed) ^ image) ^ index);
  uint h2 = mix32(h1 ^ 0x9e3779b9u);
  float u1 = (float(h1 >> 8) + 1.0) * (1.0 / 16777216.0);  // (0, 1]
  float u2 = float(h2 >> 8) * (1.0 / 16777216.0);          // [0, 1)
  return sqrt(-2.0 * fv_log(u1)) * fv_cos_turns(u2);
}
