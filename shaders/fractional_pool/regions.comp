#version 450
// The region boundaries of every plane and axis (fractional_pool.glsl), one
// invocation per (plane, axis): axis 0 (rows) has n = H - overlapping
// input steps and m = OH regions, axis 1 the columns. k = n - m increments
// are 2, the other m - k are 1.
//   pseudo-random (Graham's a_i = ceiling(alpha (i + u)), alpha = n / m,
//   shifted to start at 0): a_i = ceil(n (i + u) / m) - ceil(n u / m) with
//   u = U / 2^20, U = philox_bits(seed, stream, step, purpose axis, plane)
//   >> 12 in training, U = 2^19 (u = 1/2) in evaluation; then a_m = n.
//   Computed exactly in 32-bit integers: n U < 2^32 for n <= 4096.
//   random: a uniformly random arrangement of the k twos by selection
//   sampling: increment i is 2 when floor(bits * (m - i) / 2^32) < k - c,
//   bits = philox_bits(seed, stream, step, purpose 2 + axis, plane * m + i),
//   c = twos so far: exactly k twos, each arrangement equally likely up to
//   2^-32. One loop of m + 1 <= 4097 iterations.
#include "common.glsl"
#include "rng/philox.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) buffer Regions { uint regions[]; };  // [P, OH + OW + 2] (written)
#include "fractional_pool/fractional_pool.glsl"

// ceil(n (i + U / 2^20) / m) = ceil((T + f) / m) with T = n i + (n U >> 20)
// and f = (n U) mod 2^20 / 2^20 in [0, 1): T / m + 1 when f > 0 (then
// T mod m + f lies in (0, m)), else ceil(T / m).
uint pseudo_bound(uint n, uint m, uint U, uint i) {
  uint nu = n * U;
  uint t = n * i + (nu >> 20);
  return (nu & 0xFFFFFu) != 0u ? t / m + 1u : (t + m - 1u) / m;
}

void main() {
  uint sequences = 2u * pc.count;  // pc.count = planes here
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint s = gl_GlobalInvocationID.x; s < sequences; s += stride) {
    uint plane = s >> 1, axis = s & 1u;
    uint m = axis == 0u ? pc.OH : pc.OW;
    uint n = (axis == 0u ? pc.H : pc.W) - pc.overlapping;
    uint at = plane * (pc.OH + pc.OW + 2u) + (axis == 0u ? 0u : pc.OH + 1u);
    // Keyed by the plane's index in the global batch (global_index).
    const uint key = global_index(plane, pc.count);
    uint U = pc.mode == 0u ? (1u << 19) : philox_bits(P.seed, pc.stream, P.step, axis, key) >> 12;
    uint start = pseudo_bound(n, m, U, 0u);
    uint twos = n - m, chosen = 0u, a = 0u;
    regions[at] = 0u;
    for (uint i = 0u; i < m; ++i) {
      if (pc.mode == 2u) {
        uint bits = philox_bits(P.seed, pc.stream, P.step, 2u + axis, key * m + i);
        uint hi, lo;
        umulExtended(bits, m - i, hi, lo);
        bool two = hi < twos - chosen;
        chosen += two ? 1u : 0u;
        a += two ? 2u : 1u;
      } else {
        a = pseudo_bound(n, m, U, i + 1u) - start;
      }
      regions[at + i + 1u] = a;
    }
  }
}
