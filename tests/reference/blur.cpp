#include "reference/blur.h"

#include <cmath>
#include <cstdlib>

namespace fovea::ref {

std::vector<double> gaussian_taps(double sigma, int radius) {
  std::vector<double> w(size_t(2 * radius + 1));
  double total = 0;
  for (int k = -radius; k <= radius; ++k) total += w[size_t(k + radius)] = std::exp(-k * k / (2 * sigma * sigma));
  for (double& v : w) v /= total;
  return w;
}

// Mirror index over [0, n) without repeating the border, folding as often
// as the offset needs.
static int reflect(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * (n - 1);
  i = std::abs(i) % period;
  return i < n ? i : period - i;
}

Tensor gaussian_blur(const BlurShape& s, const Tensor& x, double sigma, bool reflect_pad, uint32_t rows) {
  if (!(sigma > 0)) return x;
  const int r = reflect_pad ? int(std::ceil(3 * sigma)) : 1;
  const auto w = gaussian_taps(sigma, r);
  const int H = int(s.height), W = int(s.width);
  Tensor out = x, tmp(x.size());
  for (uint64_t plane = 0; plane < uint64_t(std::min(rows, s.batch)) * s.channels; ++plane) {
    const double* src = x.data() + plane * H * W;
    double* t = tmp.data() + plane * H * W;
    double* dst = out.data() + plane * H * W;
    auto tap = [&](const double* row, int q, int n, int step) {
      if (reflect_pad) return row[reflect(q, n) * step];
      return q >= 0 && q < n ? row[q * step] : 0.0;
    };
    for (int i = 0; i < H; ++i)
      for (int j = 0; j < W; ++j) {
        double acc = 0;
        for (int k = -r; k <= r; ++k) acc += w[size_t(k + r)] * tap(src + i * W, j + k, W, 1);
        t[i * W + j] = acc;
      }
    for (int i = 0; i < H; ++i)
      for (int j = 0; j < W; ++j) {
        double acc = 0;
        for (int k = -r; k <= r; ++k) acc += w[size_t(k + r)] * tap(t + j, i + k, H, W);
        dst[i * W + j] = acc;
      }
  }
  return out;
}

Tensor downsample2(const BlurShape& s, const Tensor& x) {
  const uint32_t oh = (s.height + 1) / 2, ow = (s.width + 1) / 2;
  Tensor y(uint64_t(s.batch) * s.channels * oh * ow);
  for (uint64_t plane = 0; plane < uint64_t(s.batch) * s.channels; ++plane)
    for (uint32_t i = 0; i < oh; ++i)
      for (uint32_t j = 0; j < ow; ++j)
        y[(plane * oh + i) * ow + j] = x[(plane * s.height + 2 * i) * s.width + 2 * j];
  return y;
}

}  // namespace fovea::ref
