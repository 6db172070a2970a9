#include "ops/activation.h"

namespace fovea::ops {

void record_relu_forward(Program& p, uint64_t count, const View& x, const View& y,
                         const std::string& label) {
  require_floats(x, count, label);
  require_floats(y, count, label);
  uint32_t push = uint32_t(count);
  p.dispatch(label, p.context().kernels().get("activation/relu_forward"),
             {gpu::in(x), gpu::out(y)}, push, stride_groups(count));
}

void record_relu_backward(Program& p, uint64_t count, const View& y, const View& dy,
                          const View& dx, const std::string& label) {
  require_floats(y, count, label);
  require_floats(dy, count, label);
  require_floats(dx, count, label);
  uint32_t push = uint32_t(count);
  p.dispatch(label, p.context().kernels().get("activation/relu_backward"),
             {gpu::in(y), gpu::in(dy), gpu::out(dx)}, push, stride_groups(count));
}

}  // namespace fovea::ops
