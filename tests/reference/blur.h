// blur reference: separable Gaussian blur (reflect or zero padding) and
// the pyramid's decimation, in double.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

struct BlurShape {
  uint32_t batch = 0, channels = 0, height = 0, width = 0;
  uint64_t count() const { return uint64_t(batch) * channels * height * width; }
};

// The normalised 1-D Gaussian: taps k = -radius..radius, weights
// exp(-k^2 / 2 sigma^2) / sum.
std::vector<double> gaussian_taps(double sigma, int radius);

// Blurs each [H, W] plane of the first `rows` images of x (the rest copied
// unchanged) with the separable Gaussian of `sigma`: radius ceil(3 sigma)
// and reflect padding when `reflect`, otherwise radius 1 and zero padding.
// sigma <= 0 returns x.
Tensor gaussian_blur(const BlurShape& s, const Tensor& x, double sigma, bool reflect, uint32_t rows);

// x[b, c, 2i, 2j] -> [batch, C, ceil(H/2), ceil(W/2)].
Tensor downsample2(const BlurShape& s, const Tensor& x);

}  // namespace fovea::ref
