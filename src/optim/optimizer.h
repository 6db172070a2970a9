// The optimizers' host side: torch.optim's rules (PyTorch 1.13) as
// configurations, their names, torch's defaults, validation, the layout of
// the state arrays and the per-step scalars that depend on the step count.
// The kernel that applies them is recorded by ops/optim.h
// (shaders/optim/step.comp).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>


namespace fovea::ops {

// The values are step.comp's specialisation constant KIND.
enum class Optimizer : uint32_t {
  Sgd = 0,       // heavy-ball momentum when momentum > 0 (dampening 0)
  Nesterov = 1,  // SGD(nesterov=True)
  Adagrad = 2,   // lr_decay 0, initial_accumulator_value 0
  RmsProp = 3,
  Adadelta = 4,
  Adam = 5,
  AdamW = 6,
  Adamax = 7,
  NAdam = 8,
  AmsGrad = 9,  // Adam(amsgrad=True)
};

// Hyperparameters with torch.optim's names; each optimizer reads only its
// own (optimizer_options). The learning rate is per step (StepParams.lr).
struct OptimConfig {
  Optimizer kind = Optimizer::Sgd;
  double momentum = 0.9;          // sgd, nesterov; rmsprop (torch's default there: 0)
  double weight_decay = 0;        // L2 added to the gradient; adamw: p *= 1 - lr weight_decay
  double beta1 = 0.9, beta2 = 0.999;  // adam, adamw, amsgrad, adamax, nadam
  double eps = 1e-8;              // every optimizer but sgd and nesterov
  double alpha = 0.99;            // rmsprop: smoothing of the squared gradient
  double rho = 0.9;               // adadelta: smoothing of both averages
  double momentum_decay = 4e-3;   // nadam
  bool centered = false;          // rmsprop: divide by the gradient's variance estimate
};

const std::vector<Optimizer>& all_optimizers();
std::string optimizer_name(Optimizer k);
// Throws fovea::Error naming --optimizer and the valid names.
Optimizer parse_optimizer(const std::string& name);
// torch.optim's defaults for k, except sgd and nesterov: momentum 0.9.
OptimConfig optimizer_defaults(Optimizer k);
// torch.optim's default learning rate for k (Fovea's 0.01 for sgd, nesterov).
double default_lr(Optimizer k);
// The command-line options k reads ("--beta1", ..., "--centered").
std::vector<std::string> optimizer_options(Optimizer k);
// k's hyperparameters with their values under torch's names ("beta1",
// "weight_decay"; centered as 0 or 1): for summary.json and describe_optimizer.
std::vector<std::pair<std::string, double>> optimizer_hyperparameters(const OptimConfig& c);
// "adam (beta1 0.9, beta2 0.999, eps 1e-08, weight_decay 0)"
std::string describe_optimizer(const OptimConfig& c);
// The table of defaults per optimizer, for `fovea train --help`.
std::string optimizer_defaults_table();
// Throws fovea::Error naming the first option outside its range.
void validate_optimizer(const OptimConfig& c);

// State: optimizer_state_arrays(c) arrays of optimizer_state_stride(count)
// floats each (count rounded up to 4 so each array is 16-byte aligned for
// the kernel's vec4 access), all in one buffer, starting at zeros.
uint32_t optimizer_state_arrays(const OptimConfig& c);
uint64_t optimizer_state_stride(uint64_t count);
uint64_t optimizer_state_floats(const OptimConfig& c, uint64_t count);
// torch's names of the state arrays, in buffer order ("exp_avg, exp_avg_sq").
std::string optimizer_state_names(const OptimConfig& c);

// The scalars of step t (1-based: the first step is t = 1) at learning rate
// lr that the kernel reads from StepParams.optim, computed in double and
// rounded once to float. The hyperparameters enter as the float32 values
// the kernel uses, so host and kernel describe one optimizer.
//   adam, amsgrad, adamw: {lr / (1 - beta1^t), sqrt(1 - beta2^t), 1 - lr wd, 0}
//   adamax:               {lr / (1 - beta1^t), 0, 0, 0}
//   nadam:                {lr (1 - mu_t) / (1 - prod_t), lr mu_{t+1} / (1 - prod'_t),
//                          1 - beta2^t, 0}
//     with mu_t = beta1 (1 - 0.5 * 0.96^(t momentum_decay)), prod_t = mu_1 ... mu_t,
//     and prod'_t = prod_t mu_t mu_{t+1}: PyTorch 1.13's default single-tensor
//     NAdam multiplies by mu_t a second time there (its foreach path, and
//     PyTorch from 2.0 on, pytorch/pytorch#92699, use prod_t mu_{t+1});
//     Fovea follows 1.13's default.
//   others: zeros (they read only P.lr).
// Keeps prod_t between calls: consecutive t cost O(1), any other t O(t).
class OptimCoefficients {
 public:
  explicit OptimCoefficients(const OptimConfig& c) : c_(c) {}
  std::array<float, 4> at(uint64_t t, double lr);

 private:
  double mu(uint64_t t) const;
  OptimConfig c_;
  uint64_t t_ = 0;          // the step prod_ belongs to
  double prod_ = 1.0;       // mu_1 ... mu_t_
};

}  // namespace fovea::ops
