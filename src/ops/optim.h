// optim: optimizer steps on the GPU, torch.optim's rules (PyTorch 1.13), one
// kernel (shaders/optim/step.comp) specialised per optimizer and fused over
// all parameters: parameters, gradients and the optimizer's state arrays are
// parallel; and the penalty and clipping kernels. The host side (names,
// torch's defaults, validation, the per-step scalars) is src/optim/.
#pragma once
#include <string>

#include "ops/common.h"
#include "optim/optimizer.h"
#include "optim/penalty.h"

namespace fovea::ops {

// One optimizer step: params and grads hold `count` floats, state
// optimizer_state_floats(c, count). The learning rate is StepParams.lr and
// the step's scalars StepParams.optim (OptimCoefficients).
void record_optimizer(Program& p, uint64_t count, const OptimConfig& c, const View& params,
                      const View& grads, const View& state, const std::string& label);

// Penalty gradient of one tensor: values [offset, offset + count) of the
// parameter and gradient blocks `params`, `grads`.
void record_penalty_grad(Program& p, const View& params, const View& grads, uint64_t offset, uint64_t count,
                         double l1, double l2, const std::string& label);
// grads: [count] clamped to [-value, value] in place.
void record_clip_value(Program& p, const View& grads, uint64_t count, double value, const std::string& label);
// Pass 1 sums squares over chunks of kClipChunk gradients (one workgroup
// each, into a scratch buffer of clip_norm_groups(count) floats), pass 2
// adds the partial sums in order and writes norm_scale = {norm, scale}
// (2 floats), pass 3 multiplies grads: [count] by the scale. No host round trip.
constexpr uint32_t kClipChunk = 16384;
uint32_t clip_norm_groups(uint64_t count);
void record_clip_norm(Program& p, const View& grads, uint64_t count, double max_norm, const View& norm_scale,
                      const std::string& label);

}  // namespace fovea::ops
