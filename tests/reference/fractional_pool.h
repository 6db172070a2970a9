// fractional_pool reference: Graham's fractional max pooling in double, its
// region boundaries in 64-bit integer arithmetic (the kernel uses 32-bit
// pieces; both are exact, so they must agree bit for bit).
#pragma once
#include <cstdint>
#include <vector>

#include "reference/tensor.h"

namespace fovea::ref {

struct FractionalPoolShape {
  uint32_t batch = 0, channels = 0, height = 0, width = 0, out_h = 0, out_w = 0;
  bool overlapping = false;
};

enum class FractionalMode { Evaluation, PseudoRandom, Random };

// Boundaries a_0..a_m of one axis: n input steps (side - overlapping), m
// regions. Pseudo-random: a_i = ceil(n (i + u) / m) - ceil(n u / m) with u =
// U / 2^20, U = philox_bits(seed, stream, step, axis, plane) >> 12 (2^19 in
// evaluation). Random: selection sampling, increment i is 2 when
// (bits * (m - i)) >> 32 < (n - m) - twos so far, bits = philox_bits(seed,
// stream, step, 2 + axis, plane * m + i).
std::vector<uint32_t> fractional_boundaries(uint32_t n, uint32_t m, FractionalMode mode, uint32_t seed,
                                            uint32_t stream, uint32_t step, uint32_t axis, uint32_t plane);
// The pseudo-random boundaries for u = U / 2^20, U < 2^20.
std::vector<uint32_t> pseudo_random_boundaries(uint32_t n, uint32_t m, uint32_t U);
// Every plane's rows then columns: [planes, out_h + 1 + out_w + 1].
std::vector<uint32_t> fractional_regions(const FractionalPoolShape& s, FractionalMode mode, uint32_t seed,
                                         uint32_t stream, uint32_t step);

struct FractionalMaxPool {
  Tensor y;                      // [N, C, OH, OW]
  std::vector<uint32_t> argmax;  // ih * W + iw in the plane
};
// Max over rows [a_oh, a_(oh+1)) x columns [b_ow, b_(ow+1)) (closed ranges
// when overlapping), max pooling's rules: row-major scan, greater or NaN wins.
FractionalMaxPool fractional_maxpool_forward(const FractionalPoolShape& s, const std::vector<uint32_t>& regions,
                                             const Tensor& x);
// dx: zero, then dx[plane, argmax[o]] += dy[o] for every output o in order.
Tensor fractional_maxpool_backward(const FractionalPoolShape& s, const std::vector<uint32_t>& argmax,
                                   const Tensor& dy);

}  // namespace fovea::ref
