// adversarial reference: one FGSM / PGD step, written in pixel units (the
// kernel works in standardised units): p = x std_c + mean_c, then
//   p' = clamp(clamp(p_from + alpha sign(g), p0 - eps, p0 + eps), 0, 1)
// and x' = (p' - mean_c) / std_c. Rows >= rows (padding) keep x0.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

struct AdversarialShape {
  uint32_t batch = 0, channels = 0, plane = 0, rows = 0;
};

Tensor adversarial_step(const AdversarialShape& s, const Tensor& x0, const Tensor& from, const Tensor& g,
                        const Tensor& mean, const Tensor& stddev, double eps, double alpha);

}  // namespace fovea::ref
