#include "reference/roofline.h"

namespace fovea::ref {

Tensor fma_loop(const Tensor& x, uint32_t iterations, double a, double b) {
  Tensor y(x.size(), 0.0);
  for (size_t i = 0; i < x.size(); ++i)
    for (int j = 0; j < 16; ++j) {
      double v = x[i] + j / 16.0;
      for (uint32_t k = 0; k < iterations; ++k) v = v * a + b;
      y[i] += v;
    }
  return y;
}

}  // namespace fovea::ref
