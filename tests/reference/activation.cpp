#include "reference/activation.h"

#include <cmath>

namespace fovea::ref {

using ops::Activation;

namespace {

// torch.nn.SELU's constants
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

double forward1(Activation a, const ops::ActivationParams& q, double x) {
  switch (a) {
    case Activation::Relu: return x > 0 ? x : 0.0;
    case Activation::LeakyRelu: return x > 0 ? x : x * q.slope;
    case Activation::Elu: return x <= 0 ? q.alpha * std::expm1(x) : x;
    case Activation::Selu: return kSeluScale * (x <= 0 ? kSeluAlpha * std::expm1(x) : x);
    // x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2 = erfc(-x / sqrt 2) / 2,
    // accurate in the negative tail
    case Activation::Gelu: return x * 0.5 * std::erfc(-x * kSqrt1_2);
    case Activation::Tanh: return std::tanh(x);
    case Activation::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Activation::Softplus: {
      // PyTorch compares the float product beta * x with the threshold.
      const double z = x * q.beta;
      return float(x) * q.beta > q.threshold ? x : std::log1p(std::exp(z)) / q.beta;
    }
  }
  return 0;
}

double derivative1(Activation a, const ops::ActivationParams& q, double x, double y) {
  switch (a) {
    case Activation::Relu: return x > 0 ? 1.0 : 0.0;
    case Activation::LeakyRelu: return x > 0 ? 1.0 : q.slope;
    case Activation::Elu: return x <= 0 ? q.alpha * std::exp(x) : 1.0;
    case Activation::Selu: return kSeluScale * (x <= 0 ? kSeluAlpha * std::exp(x) : 1.0);
    case Activation::Gelu:
      return 0.5 * std::erfc(-x * kSqrt1_2) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
    case Activation::Tanh: return 1.0 - y * y;
    case Activation::Sigmoid: return y * (1.0 - y);
    case Activation::Softplus: {
      const double z = x * q.beta;
      return float(x) * q.beta > q.threshold ? 1.0 : 1.0 / (1.0 + std::exp(-z));
    }
  }
  return 0;
}

}  // namespace

Tensor relu_forward(const Tensor& x) {
  Tensor y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0.0 ? x[i] : 0.0;
  return y;
}

Tensor relu_backward(const Tensor& y, const Tensor& dy) {
  Tensor dx(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) dx[i] = y[i] > 0.0 ? dy[i] : 0.0;
  return dx;
}

Tensor activation_forward(Activation a, const ops::ActivationParams& q, const Tensor& x) {
  Tensor y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = forward1(a, q, x[i]);
  return y;
}

Tensor activation_backward(Activation a, const ops::ActivationParams& q, const Tensor& x,
                           const Tensor& y, const Tensor& dy) {
  const bool from_y = ops::activation_backward_uses_output(a);
  Tensor dx(dy.size());
  for (std::size_t i = 0; i < dy.size(); ++i)
    dx[i] = dy[i] * (from_y ? derivative1(a, q, 0.0, y[i]) : derivative1(a, q, x[i], 0.0));
  return dx;
}

}  // namespace fovea::ref
