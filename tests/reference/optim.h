// optim reference: torch.optim's step rules (PyTorch 1.13, the default
// single-tensor code path) in double, one parameter array at a time.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/optim.h"
#include "reference/tensor.h"

namespace fovea::ref {

// torch's per-parameter state. `arrays` in the kernel's buffer order
// (ops::optimizer_state_names), created as zeros at the first step.
struct OptimState {
  std::vector<Tensor> arrays;
  uint64_t step = 0;        // steps taken (torch's state['step'])
  double mu_product = 1.0;  // nadam: mu_1 ... mu_step
};

// One step of c's optimizer at learning rate lr over p, g: [n]. The
// hyperparameters enter as float32 values (what the kernel holds); every
// step-dependent scalar (bias corrections, NAdam's mu) is computed here
// from s.step, independently of ops::OptimCoefficients.
void optimizer_step(const ops::OptimConfig& c, double lr, Tensor& p, const Tensor& g, OptimState& s);

// Weight penalty l1 sum|p| + (l2 / 2) sum p^2 and its gradient, added to
// g: g += l1 sign(p) + l2 p (sign(0) = 0, as torch.sign).
double penalty(const Tensor& p, double l1, double l2);
void add_penalty_grad(const Tensor& p, double l1, double l2, Tensor& g);
// torch.nn.utils.clip_grad_value_: g = clamp(g, -v, v).
void clip_value(Tensor& g, double v);
// torch.nn.utils.clip_grad_norm_: g *= min(1, max_norm / (norm + 1e-6));
// returns norm = sqrt(sum g^2) of the gradients before clipping.
double clip_norm(Tensor& g, double max_norm);

}  // namespace fovea::ref
