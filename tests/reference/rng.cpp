#include "reference/rng.h"

#include <cmath>

namespace fovea::ref {

Words philox4x32(Words c, std::array<uint32_t, 2> k) {
  constexpr uint64_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) k[0] += 0x9E3779B9u, k[1] += 0xBB67AE85u;
    const uint64_t p0 = M0 * c[0], p1 = M1 * c[2];
    c = {uint32_t(p1 >> 32) ^ c[1] ^ k[0], uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k[1], uint32_t(p0)};
  }
  return c;
}

uint32_t philox_bits(uint32_t seed, uint32_t stream, uint32_t step, uint32_t purpose, uint64_t element) {
  return philox4x32({uint32_t(element >> 2), step, purpose, 0}, {seed, stream})[element & 3];
}

double philox_uniform(uint32_t seed, uint32_t stream, uint32_t step, uint32_t purpose, uint64_t element) {
  return double(philox_bits(seed, stream, step, purpose, element) >> 8) / 16777216.0;
}

double philox_normal(uint32_t seed, uint32_t stream, uint32_t step, uint32_t purpose, uint64_t element) {
  const double u1 = philox_uniform(seed, stream, step, purpose, element);
  const double u2 = philox_uniform(seed, stream, step, purpose + 1, element);
  return std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace fovea::ref
