#include "dist/sync_bn.h"

#include <cstring>

#include "util/error.h"

namespace fovea::dist {
namespace {

// The chunks' A and B of channel c added in double, and the channel's shift.
void channel_sums(const float* partials, uint32_t c, uint32_t K, double& a, double& b, double& s) {
  a = b = 0;
  for (uint32_t k = 0; k < K; ++k) {
    a += partials[(size_t(c) * K + k) * 3];
    b += partials[(size_t(c) * K + k) * 3 + 1];
  }
  s = partials[size_t(c) * K * 3 + 2];
}

}  // namespace

void batchnorm_forward_sums(const float* partials, uint32_t C, uint32_t K, double values, double* sums) {
  for (uint32_t c = 0; c < C; ++c) {
    double a, b, s;
    channel_sums(partials, c, K, a, b, s);
    sums[2 * c] = values > 0 ? a + values * s : 0.0;
    sums[2 * c + 1] = values > 0 ? b + 2 * s * a + values * s * s : 0.0;
  }
}

void batchnorm_backward_sums(const float* partials, uint32_t C, uint32_t K, double values,
                             const float* shift, double* sums) {
  for (uint32_t c = 0; c < C; ++c) {
    double a, b, s;
    channel_sums(partials, c, K, a, b, s);
    sums[2 * c] = values > 0 ? a : 0.0;
    sums[2 * c + 1] = values > 0 ? b + (s - double(shift[c])) * a : 0.0;
  }
}

void batchnorm_forward_summed(const double* sums, uint32_t C, double values, float* summed, float* shift) {
  for (uint32_t c = 0; c < C; ++c) {
    const double s1 = sums[2 * c], s2 = sums[2 * c + 1];
    const float g = values > 0 ? float(s1 / values) : 0.0f;
    summed[3 * c] = float(s1 - values * g);
    summed[3 * c + 1] = float(s2 - 2.0 * g * s1 + values * double(g) * g);
    summed[3 * c + 2] = g;
    shift[c] = g;
  }
}

void BatchNormSync::forward(size_t layer, const float* partials, uint32_t C, uint32_t K, double values,
                            double global_values, float* summed) {
  if (shift_.size() <= layer) shift_.resize(layer + 1);
  shift_[layer].assign(C, 0.0f);
  sums_.assign(2 * size_t(C), 0.0);
  batchnorm_forward_sums(partials, C, K, values, sums_.data());
  comm_.allreduce_sum(sums_.data(), sums_.size());
  batchnorm_forward_summed(sums_.data(), C, global_values, summed, shift_[layer].data());
}

void BatchNormSync::backward(size_t layer, const float* partials, uint32_t C, uint32_t K, double values,
                             float* summed) {
  if (shift_.size() <= layer || shift_[layer].size() != C)
    throw Error("internal: a synchronised BatchNorm backward exchange before its forward one");
  sums_.assign(2 * size_t(C), 0.0);
  batchnorm_backward_sums(partials, C, K, values, shift_[layer].data(), sums_.data());
  comm_.allreduce_sum(sums_.data(), sums_.size());
  for (uint32_t c = 0; c < C; ++c) {
    summed[3 * c] = float(sums_[2 * c]);
    summed[3 * c + 1] = float(sums_[2 * c + 1]);
    summed[3 * c + 2] = shift_[layer][c];
  }
  std::memcpy(summed + 3 * size_t(C), partials, 3 * size_t(C) * K * sizeof(float));
}

}  // namespace fovea::dist
