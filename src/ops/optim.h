// optim: optimizer steps on the GPU, torch.optim's rules (PyTorch 1.13), one
// kernel (shaders/optim/step.comp) specialised per optimizer and fused over
// all parameters: parameters, gradients and the optimizer's state arrays are
// parallel. Also the host side: names, torch's defaults, validation, and the
// per-step scalars that depend on the step count.
#pragma once
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "ops/common.h"

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

// One optimizer step: params and grads hold `count` floats, state
// optimizer_state_floats(c, count). The learning rate is StepParams.lr and
// the step's scalars StepParams.optim (OptimCoefficients).
void record_optimizer(Program& p, uint64_t count, const OptimConfig& c, const View& params,
                      const View& grads, const View& state, const std::string& label);

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
