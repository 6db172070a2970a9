#include "ops/optim.h"

namespace fovea::ops {

void record_sgd(Program& p, uint64_t count, const SgdConfig& c, const View& params,
                const View& grads, const View& velocity, const std::string& label) {
  require_floats(params, count, label);
  require_floats(grads, count, label);
  require_floats(velocity, count, label);
  struct {
    uint32_t count;
    float momentum, weight_decay;
    uint32_t nesterov;
  } push{uint32_t(count), c.momentum, c.weight_decay, c.nesterov ? 1u : 0u};
  p.dispatch(label, p.context().kernels().get("optim/sgd"),
             {gpu::inout(params), gpu::in(grads), gpu::inout(velocity)}, push,
             stride_groups((count + 3) / 4));
}

}  // namespace fovea::ops
