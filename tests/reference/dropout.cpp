#include "reference/dropout.h"

#include <cmath>

#include "reference/rng.h"

namespace fovea::ref {

namespace {
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
}  // namespace

Tensor bernoulli_keep(uint32_t seed, uint32_t stream, uint32_t step, uint32_t purpose, double p,
                      uint64_t draws) {
  Tensor keep(draws);
  for (uint64_t m = 0; m < draws; ++m) keep[m] = philox_uniform(seed, stream, step, purpose, m) >= p ? 1 : 0;
  return keep;
}

Tensor gaussian_multipliers(uint32_t seed, uint32_t stream, uint32_t step, uint32_t purpose, double p,
                            uint64_t draws) {
  const double sigma = std::sqrt(p / (1 - p));
  Tensor m(draws);
  for (uint64_t i = 0; i < draws; ++i) m[i] = 1 + sigma * philox_normal(seed, stream, step, purpose, i);
  return m;
}

Tensor dropout(const Tensor& x, const Tensor& keep, uint64_t group, double p) {
  Tensor y(x.size());
  for (uint64_t i = 0; i < x.size(); ++i) y[i] = keep[i / group] * x[i] / (1 - p);
  return y;
}

Tensor scale_by_mask(const Tensor& x, const Tensor& mask, uint64_t group) {
  Tensor y(x.size());
  for (uint64_t i = 0; i < x.size(); ++i) y[i] = mask[i / group] * x[i];
  return y;
}

static void alpha_coefficients(double p, double& a, double& b, double& alpha_prime) {
  alpha_prime = -kSeluScale * kSeluAlpha;
  a = 1 / std::sqrt((1 - p) * (1 + p * alpha_prime * alpha_prime));
  b = -a * alpha_prime * p;
}

Tensor alpha_dropout(const Tensor& x, const Tensor& keep, double p) {
  double a, b, ap;
  alpha_coefficients(p, a, b, ap);
  Tensor y(x.size());
  for (uint64_t i = 0; i < x.size(); ++i) y[i] = a * (keep[i] ? x[i] : ap) + b;
  return y;
}

Tensor alpha_dropout_backward(const Tensor& dy, const Tensor& keep, double p) {
  double a, b, ap;
  alpha_coefficients(p, a, b, ap);
  Tensor dx(dy.size());
  for (uint64_t i = 0; i < dy.size(); ++i) dx[i] = keep[i] * a * dy[i];
  return dx;
}

Tensor stochastic_depth(const Tensor& shortcut, const Tensor& branch, const Tensor& keep, uint64_t features,
                        double p) {
  Tensor y = dropout(branch, keep, features, p);
  for (uint64_t i = 0; i < y.size(); ++i) y[i] += shortcut[i];
  return y;
}

}  // namespace fovea::ref
