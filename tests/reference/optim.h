// optim reference: torch.optim.SGD's step with dampening 0.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

struct SgdConfig {
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 0.0;
  bool nesterov = false;
};

// One step over parallel arrays p, g: [n]. `buf` is the momentum buffer;
// empty means "not yet created", and as in PyTorch the first step then
// sets buf = g' (not momentum * 0 + g'). With momentum 0 no buffer is kept.
//   g' = g + weight_decay * p
//   buf = momentum * buf + g'
//   p -= lr * (nesterov ? g' + momentum * buf : buf)
void sgd_step(const SgdConfig& c, Tensor& p, const Tensor& g, Tensor& buf);

}  // namespace fovea::ref
