#include "ops/loss.h"

#include "util/error.h"

namespace fovea::ops {

void record_softmax_xent(Program& p, uint32_t batch, uint32_t classes, const View& logits,
                         const View& labels, const View& dlogits, const View& stats,
                         bool gradient, const std::string& label) {
  if (classes < 2 || classes > kMaxClasses)
    throw Error(label + ": classes must be in 2.." + std::to_string(kMaxClasses));
  uint64_t n = uint64_t(batch) * classes;
  require_floats(logits, n, label);
  require_floats(labels, batch, label);
  require_floats(dlogits, n, label);
  require_floats(stats, 2ull * batch, label);
  const uint32_t spec[] = {gradient ? 1u : 0u};
  const auto& k = p.context().kernels().get("loss/softmax_xent", spec);
  struct {
    uint32_t batch, K;
  } push{batch, classes};
  // Declared as written in both modes: the kernel's binding is writable, and
  // synchronisation validation judges by the declaration.
  p.dispatch(label, k, {gpu::in(logits), gpu::in(labels), gpu::out(dlogits), gpu::out(stats)},
             push, ceil_div(batch, 64));
}

}  // namespace fovea::ops
