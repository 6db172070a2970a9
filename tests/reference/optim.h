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

}  // namespace fovea::ref
