// noise reference: the counter-based normal samples of shaders/noise, in
// the same 32-bit integer steps and double floating point.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

uint32_t mix32(uint32_t v);
double normal_sample(uint32_t seed, uint32_t image, uint32_t index);

// x + noise_std * z / stddev[c] for the first `rows` images (image m of the
// batch keyed as first_image + m); x: [batch, features], planes of `plane`.
Tensor gaussian_noise(const Tensor& x, uint32_t batch, uint32_t channels, uint32_t plane,
                      uint32_t rows, uint32_t first_image, uint32_t seed, double noise_std,
                      const Tensor& stddev);

}  // namespace fovea::ref
