#include "reference/fractional_pool.h"

#include <cmath>
#include <limits>

#include "reference/rng.h"

namespace fovea::ref {

std::vector<uint32_t> pseudo_random_boundaries(uint32_t n, uint32_t m, uint32_t U) {
  // ceil(n (i + U / 2^20) / m) = ceil(n (i 2^20 + U) / (m 2^20))
  auto bound = [&](uint64_t i) {
    const uint64_t num = uint64_t(n) * ((i << 20) + U), den = uint64_t(m) << 20;
    return (num + den - 1) / den;
  };
  std::vector<uint32_t> a(m + 1, 0);
  for (uint32_t i = 1; i <= m; ++i) a[i] = uint32_t(bound(i) - bound(0));
  return a;
}

std::vector<uint32_t> fractional_boundaries(uint32_t n, uint32_t m, FractionalMode mode, uint32_t seed,
                                            uint32_t stream, uint32_t step, uint32_t axis, uint32_t plane) {
  if (mode == FractionalMode::Random) {
    std::vector<uint32_t> a(m + 1, 0);
    const uint64_t twos = n - m;
    uint64_t chosen = 0;
    for (uint32_t i = 0; i < m; ++i) {
      const uint64_t bits = philox_bits(seed, stream, step, 2 + axis, uint64_t(plane) * m + i);
      const bool two = (bits * (m - i)) >> 32 < twos - chosen;
      chosen += two;
      a[i + 1] = a[i] + (two ? 2 : 1);
    }
    return a;
  }
  const uint32_t U = mode == FractionalMode::Evaluation ? (1u << 19) : philox_bits(seed, stream, step, axis, plane) >> 12;
  return pseudo_random_boundaries(n, m, U);
}

std::vector<uint32_t> fractional_regions(const FractionalPoolShape& s, FractionalMode mode, uint32_t seed,
                                         uint32_t stream, uint32_t step) {
  std::vector<uint32_t> r;
  const uint32_t o = s.overlapping ? 1 : 0;
  for (uint32_t p = 0; p < s.batch * s.channels; ++p) {
    const auto rows = fractional_boundaries(s.height - o, s.out_h, mode, seed, stream, step, 0, p);
    const auto cols = fractional_boundaries(s.width - o, s.out_w, mode, seed, stream, step, 1, p);
    r.insert(r.end(), rows.begin(), rows.end());
    r.insert(r.end(), cols.begin(), cols.end());
  }
  return r;
}

FractionalMaxPool fractional_maxpool_forward(const FractionalPoolShape& s, const std::vector<uint32_t>& regions,
                                             const Tensor& x) {
  const uint64_t planes = uint64_t(s.batch) * s.channels, H = s.height, W = s.width;
  const uint64_t OH = s.out_h, OW = s.out_w, words = OH + OW + 2;
  const uint32_t o = s.overlapping ? 1 : 0;
  FractionalMaxPool r{Tensor(planes * OH * OW), std::vector<uint32_t>(planes * OH * OW)};
  for (uint64_t p = 0; p < planes; ++p) {
    const uint32_t* a = &regions[p * words];
    const uint32_t* b = a + OH + 1;
    for (uint64_t oh = 0; oh < OH; ++oh)
      for (uint64_t ow = 0; ow < OW; ++ow) {
        double best = -std::numeric_limits<double>::infinity();
        uint32_t arg = uint32_t(a[oh] * W + b[ow]);
        for (uint64_t ih = a[oh]; ih < a[oh + 1] + o; ++ih)
          for (uint64_t iw = b[ow]; iw < b[ow + 1] + o; ++iw) {
            const double v = x[(p * H + ih) * W + iw];
            if (v > best || std::isnan(v)) best = v, arg = uint32_t(ih * W + iw);
          }
        r.y[(p * OH + oh) * OW + ow] = best;
        r.argmax[(p * OH + oh) * OW + ow] = arg;
      }
  }
  return r;
}

Tensor fractional_maxpool_backward(const FractionalPoolShape& s, const std::vector<uint32_t>& argmax,
                                   const Tensor& dy) {
  const uint64_t plane_in = uint64_t(s.height) * s.width, plane_out = uint64_t(s.out_h) * s.out_w;
  Tensor dx(uint64_t(s.batch) * s.channels * plane_in, 0.0);
  for (uint64_t o = 0; o < dy.size(); ++o) dx[o / plane_out * plane_in + argmax[o]] += dy[o];
  return dx;
}

}  // namespace fovea::ref
