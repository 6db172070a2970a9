#include "reference/loss.h"

#include <cmath>

namespace fovea::ref {

SoftmaxXent softmax_xent(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                         const std::vector<uint32_t>& labels) {
  SoftmaxXent r{Tensor(batch, 0.0), Tensor(batch, 0.0), Tensor(uint64_t(batch) * classes, 0.0)};
  for (uint64_t b = 0; b < rows && b < batch; ++b) {
    const double* z = &logits[b * classes];
    uint32_t arg = 0;  // first maximum, like torch.argmax
    for (uint32_t k = 1; k < classes; ++k)
      if (z[k] > z[arg]) arg = k;
    const double m = z[arg];
    double s = 0.0;
    for (uint32_t k = 0; k < classes; ++k) s += std::exp(z[k] - m);
    const uint32_t y = labels[b];
    r.loss[b] = std::log(s) + m - z[y];
    r.correct[b] = arg == y ? 1.0 : 0.0;
    for (uint32_t k = 0; k < classes; ++k)
      r.dlogits[b * classes + k] = (std::exp(z[k] - m) / s - (k == y ? 1.0 : 0.0)) / rows;
  }
  return r;
}

double mean_xent(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                 const std::vector<uint32_t>& labels) {
  SoftmaxXent r = softmax_xent(batch, classes, rows, logits, labels);
  double s = 0.0;
  for (uint32_t b = 0; b < rows; ++b) s += r.loss[b];
  return s / rows;
}

}  // namespace fovea::ref
