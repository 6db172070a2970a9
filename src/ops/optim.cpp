// The optimizer, penalty and clipping kernels (ops/optim.h).
#include "ops/optim.h"

#include "util/error.h"

namespace fovea::ops {

void record_optimizer(Program& p, uint64_t count, const OptimConfig& c, const View& params,
                      const View& grads, const View& state, const std::string& label) {
  require_floats(params, count, label);
  require_floats(grads, count, label);
  require_floats(state, optimizer_state_floats(c, count), label);
  if (count == 0 || count > 0xffffffffull)
    throw Error(label + ": " + std::to_string(count) + " parameters (the step takes 1 to 2^32 - 1)");
  struct {
    uint32_t count, stride4;
    float momentum, weight_decay, beta1, beta2, eps, alpha, rho;
    uint32_t centered;
  } push{uint32_t(count),
         uint32_t(optimizer_state_stride(count) / 4),
         float(c.momentum),
         float(c.weight_decay),
         float(c.beta1),
         float(c.beta2),
         float(c.eps),
         float(c.alpha),
         float(c.rho),
         c.centered ? 1u : 0u};
  const uint32_t spec[] = {uint32_t(c.kind)};
  p.dispatch(label, p.context().kernels().get("optim/step", spec),
             {gpu::inout(params), gpu::in(grads), gpu::inout(state)}, push,
             stride_groups((count + 3) / 4));
}

void record_penalty_grad(Program& p, const View& params, const View& grads, uint64_t offset, uint64_t count,
                         double l1, double l2, const std::string& label) {
  require_floats(params, offset + count, label);
  require_floats(grads, offset + count, label);
  if (offset + count > 0xffffffffull) throw Error(label + ": the parameter block is too large for a penalty");
  struct {
    uint32_t offset, count;
    float l1, l2;
  } push{uint32_t(offset), uint32_t(count), float(l1), float(l2)};
  p.dispatch(label, p.context().kernels().get("optim/penalty"), {gpu::in(params), gpu::inout(grads)}, push,
             stride_groups(count));
}

void record_clip_value(Program& p, const View& grads, uint64_t count, double value, const std::string& label) {
  require_floats(grads, count, label);
  if (count == 0 || count > 0xffffffffull) throw Error(label + ": " + std::to_string(count) + " gradients");
  struct {
    uint32_t count;
    float value;
  } push{uint32_t(count), float(value)};
  p.dispatch(label, p.context().kernels().get("optim/clip_value"), {gpu::inout(grads)}, push, stride_groups(count));
}

uint32_t clip_norm_groups(uint64_t count) { return ceil_div(count, kClipChunk); }

void record_clip_norm(Program& p, const View& grads, uint64_t count, double max_norm, const View& norm_scale,
                      const std::string& label) {
  require_floats(grads, count, label);
  require_floats(norm_scale, 2, label);
  const uint64_t groups = (count + kClipChunk - 1) / kClipChunk;
  if (count == 0 || groups > 65535) throw Error(label + ": " + std::to_string(count) + " gradients");
  View partial = p.scratch(label + ".partials", groups * 4);
  const struct { uint32_t count; } sum_push{uint32_t(count)};
  p.dispatch(label + ".sumsq", p.context().kernels().get("optim/grad_sumsq"), {gpu::in(grads), gpu::out(partial)},
             sum_push, uint32_t(groups));
  struct {
    uint32_t groups;
    float max_norm;
  } norm_push{uint32_t(groups), float(max_norm)};
  p.dispatch(label + ".norm", p.context().kernels().get("optim/grad_norm"), {gpu::in(partial), gpu::out(norm_scale)},
             norm_push, 1);
  p.dispatch(label + ".scale", p.context().kernels().get("optim/grad_scale"),
             {gpu::inout(grads), gpu::in(norm_scale)}, sum_push, stride_groups(count));
}

}  // namespace fovea::ops
