#include "reference/channel_shuffle.h"

namespace fovea::ref {
namespace {

// Calls f(x index, y index) for every value: x as [b, j, i, p] with j <
// groups, i < n = channels / groups; y as [b, i, j, p].
template <class F>
void each_pair(uint32_t batch, uint32_t channels, uint32_t plane, uint32_t groups, F f) {
  const uint32_t n = channels / groups;
  for (uint32_t b = 0; b < batch; ++b)
    for (uint32_t j = 0; j < groups; ++j)
      for (uint32_t i = 0; i < n; ++i)
        for (uint32_t p = 0; p < plane; ++p) {
          const uint64_t base = uint64_t(b) * channels;
          f(((base + uint64_t(j) * n + i) * plane) + p, ((base + uint64_t(i) * groups + j) * plane) + p);
        }
}

}  // namespace

Tensor channel_shuffle(const Tensor& x, uint32_t batch, uint32_t channels, uint32_t plane,
                       uint32_t groups) {
  Tensor y(x.size());
  each_pair(batch, channels, plane, groups, [&](uint64_t xi, uint64_t yi) { y[yi] = x[xi]; });
  return y;
}

Tensor channel_shuffle_backward(const Tensor& dy, uint32_t batch, uint32_t channels,
                                uint32_t plane, uint32_t groups) {
  Tensor dx(dy.size());
  each_pair(batch, channels, plane, groups, [&](uint64_t xi, uint64_t yi) { dx[xi] += dy[yi]; });
  return dx;
}

}  // namespace fovea::ref
