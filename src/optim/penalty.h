// Weight penalties and gradient clipping, the host side: the settings, their
// validation and the penalty's value. The kernels are recorded by ops/optim.h.
#pragma once
#include <cstdint>

namespace fovea::ops {

// Weight penalties and gradient clipping: recorded between the backward pass
// and the optimizer step, in this order (as PyTorch, where the penalty is
// part of the loss and clipping comes after loss.backward()):
//   1. penalty gradients, per penalised tensor: g += l1 sign(w) + l2 w, the
//      gradient of   penalty = l1 sum|w| + (l2 / 2) sum w^2   (sign(0) = 0);
//   2. --clip-value V: every gradient clamped to [-V, V] (clip_grad_value_);
//   3. --clip-norm C: every gradient times min(1, C / (norm + 1e-6)), norm the
//      L2 norm of all gradients together (clip_grad_norm_).
// The penalty's L2 term is a loss term, distinct from the optimizer's
// weight_decay (which adamw applies decoupled, and which stays as it is).
struct RegularizeConfig {
  double l1 = 0, l2 = 0;          // global coefficients on weights (a layer's "l1"/"l2" override them)
  bool penalize_biases = false;   // also biases and normalisation parameters
  double clip_norm = 0;           // > 0: clip the global gradient norm to it (0 = off)
  double clip_value = 0;          // > 0: clamp each gradient to [-clip_value, clip_value] (0 = off)
};
// Throws fovea::Error naming the first option that is negative or not finite.
void validate_regularization(const RegularizeConfig& r);
// l1 sum|w| + (l2 / 2) sum w^2 over w: [n], in double.
double penalty_value(const float* w, uint64_t n, double l1, double l2);

}  // namespace fovea::ops
