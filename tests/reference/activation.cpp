#include "reference/activation.h"

namespace fovea::ref {

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

}  // namespace fovea::ref
