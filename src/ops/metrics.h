// metrics: the batch's loss and correct-count sums, added on the GPU into
// the epoch's running sums; the host reads them rarely.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

// The running sums as the host reads them (layout of the acc view).
struct MetricSums {
  float loss_sum = 0;
  float loss_compensation = 0;  // Kahan term
  uint32_t correct = 0;
  uint32_t count = 0;
};
static_assert(sizeof(MetricSums) == 16);

// stats [batch, 2] -> acc (a MetricSums), over the P.rows valid rows.
void record_metric_sums(Program& p, uint32_t batch, const View& stats, const View& acc,
                        const std::string& label);

}  // namespace fovea::ops
