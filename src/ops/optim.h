// optim: optimizer steps on the GPU, fused over all parameters (parameters,
// gradients and optimizer state are parallel arrays).
#pragma once
#include "ops/common.h"

namespace fovea::ops {

struct SgdConfig {
  float momentum = 0.9f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

// PyTorch's SGD (dampening 0); the learning rate comes from StepParams.lr.
void record_sgd(Program& p, uint64_t count, const SgdConfig& c, const View& params,
                const View& grads, const View& velocity, const std::string& label);

}  // namespace fovea::ops
