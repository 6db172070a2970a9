#include "ops/metrics.h"

namespace fovea::ops {

void record_metric_sums(Program& p, uint32_t batch, const View& stats, const View& acc,
                        const std::string& label) {
  require_floats(stats, 2ull * batch, label);
  require_floats(acc, 4, label);
  uint32_t push = batch;
  p.dispatch(label, p.context().kernels().get("metrics/sums"), {gpu::in(stats), gpu::inout(acc)},
             push, 1);
}

}  // namespace fovea::ops
