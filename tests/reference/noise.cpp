#include "reference/noise.h"

#include <cmath>

namespace fovea::ref {

uint32_t mix32(uint32_t v) {
  v ^= v >> 16;
  v *= 0x7feb352du;
  v ^= v >> 15;
  v *= 0x846ca68bu;
  v ^= v >> 16;
  return v;
}

double normal_sample(uint32_t seed, uint32_t image, uint32_t index) {
  const uint32_t h1 = mix32(mix32(mix32(seed) ^ image) ^ index);
  const uint32_t h2 = mix32(h1 ^ 0x9e3779b9u);
  const double u1 = (double(h1 >> 8) + 1.0) / 16777216.0, u2 = double(h2 >> 8) / 16777216.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

Tensor gaussian_noise(const Tensor& x, uint32_t batch, uint32_t channels, uint32_t plane,
                      uint32_t rows, uint32_t first_image, uint32_t seed, double noise_std,
                      const Tensor& stddev) {
  Tensor y = x;
  const uint64_t D = uint64_t(channels) * plane;
  if (!(noise_std > 0)) return y;
  for (uint32_t b = 0; b < rows && b < batch; ++b)
    for (uint64_t i = 0; i < D; ++i)
      y[b * D + i] += noise_std / stddev[i / plane] * normal_sample(seed, first_image + b, uint32_t(i));
  return y;
}

}  // namespace fovea::ref
