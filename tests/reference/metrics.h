// metrics reference: the batch sums the epoch's running metrics add up.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

struct Sums {
  double loss = 0;       // sum of per-row loss over valid rows
  uint64_t correct = 0;  // valid rows marked correct
  uint64_t count = 0;    // valid rows
};

// stats: [batch, 2] = [loss, correct] per row; rows <= batch are valid.
// Adds this batch into `acc` (the running sums of the epoch).
void add_metric_sums(uint32_t batch, uint32_t rows, const Tensor& stats, Sums& acc);

}  // namespace fovea::ref
