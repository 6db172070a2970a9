#include "reference/metrics.h"

namespace fovea::ref {

void add_metric_sums(uint32_t batch, uint32_t rows, const Tensor& stats, Sums& acc) {
  for (uint64_t b = 0; b < rows && b < batch; ++b) {
    acc.loss += stats[2 * b];
    acc.correct += stats[2 * b + 1] != 0.0 ? 1 : 0;
  }
  acc.count += rows;
}

}  // namespace fovea::ref
