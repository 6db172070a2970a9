// optim: the fused optimizer kernel (every optimizer of shaders/optim/step.comp)
// against the double reference of torch.optim's rules over 20 steps, with a
// fresh random gradient and a new learning rate every step (through
// StepParams, the step's scalars from ops::OptimCoefficients), on counts
// that are not multiples of 4; parameters and every state array compared
// after each step.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "gpu/harness.h"
#include "ops/op_check.h"
#include "ops/optim.h"
#include "reference/optim.h"

namespace fovea::test {
namespace {

using ops::Optimizer;

constexpr int kSteps = 20;
// Per-step multipliers of the optimizer's base rate: the kernel must read
// P.lr (and P.optim) anew every step, never a recorded value.
const double kLrScale[] = {1.0, 0.5, 2.0, 0.1, 3.0};

// A config: torch's defaults for `kind` with these overrides.
ops::OptimConfig config(Optimizer kind, double weight_decay = -1) {
  ops::OptimConfig c = ops::optimizer_defaults(kind);
  if (weight_decay >= 0) c.weight_decay = weight_decay;
  return c;
}

// Runs kSteps steps of one recorded program and checks parameters and state
// after each. The parameters are a view of `count` floats at the start of
// a longer tensor whose tail holds garbage the step must leave alone.
void check_optimizer(const ops::OptimConfig& c, uint64_t count, double base_lr, uint64_t seed) {
  INFO(ops::describe_optimizer(c) << ", count " << count << ", base lr " << base_lr);
  const uint64_t spare = 5;
  const auto p0 = random_floats(count, seed, -2, 2);
  const auto tail = garbage(spare, seed);
  const uint64_t stride = ops::optimizer_state_stride(count);
  const uint32_t arrays = ops::optimizer_state_arrays(c);
  OpRun run;
  auto block = run.tensor("params", count + spare), g = run.tensor("grads", count);
  auto s = run.tensor("state", ops::optimizer_state_floats(c, count));
  run.commit();
  std::vector<float> init = p0;
  init.insert(init.end(), tail.begin(), tail.end());
  run.set(block, init);
  run.set(s, std::vector<float>(arrays * stride, 0.0f));  // state starts at zeros, as torch's
  const gpu::View p = block.sub(0, count * 4, "params.used");
  ops::record_optimizer(run.program(), count, c, p, g, s, "optimizer");

  ops::OptimCoefficients coefficients(c);
  ref::Tensor want = ref::widen(p0);
  ref::OptimState state;
  for (int step = 0; step < kSteps; ++step) {
    const float lr = float(base_lr * kLrScale[step % 5]);
    INFO("step " << step + 1 << ", lr " << lr);
    // Gradients of order 1: the Adam-type rules divide by sqrt(v) + eps, and
    // for |g| far below 1 the float rounding of v (relative 1e-7) would be
    // the only thing compared.
    const auto grad = random_floats(count, seed + 10 + uint64_t(step));
    run.set(g, grad);
    nn::StepParams params;
    params.lr = lr;
    params.step = uint32_t(step);
    const auto k = coefficients.at(uint64_t(step) + 1, lr);
    std::copy(k.begin(), k.end(), params.optim);
    run.run(params);

    ref::optimizer_step(c, lr, want, ref::widen(grad), state);
    const std::vector<float> got = run.get(block, count + spare);
    // A few float operations per step on values of order 1, each step's
    // rounding (~1e-7 relative) carried into the next: 20 steps stay near
    // 1e-6, while a wrong term, coefficient or order of updates is off by
    // at least lr x 1e-3 (the smallest rate here is 1e-4 x 0.1).
    check_close(std::vector<float>(got.begin(), got.begin() + int64_t(count)), want, 1e-6, 1e-5,
                "params");
    REQUIRE(std::vector<float>(got.begin() + int64_t(count), got.end()) == tail);
    const std::vector<float> st = run.get(s, arrays * stride);
    REQUIRE(state.arrays.size() == arrays);
    for (uint32_t j = 0; j < arrays; ++j) {
      INFO("state array " << j << " of " << ops::optimizer_state_names(c));
      // Each array is a running sum of same-sized terms (g, g^2, g / avg, ...)
      // that can cancel to near 0, where its float rounding is relative to
      // the terms, not the sum: the absolute floor is 1e-6 of the array's
      // largest value (its scale; arrays range from 1e-3 x g^2 to 10 g).
      double scale = 0;
      for (double v : state.arrays[j]) scale = std::max(scale, std::abs(v));
      check_close(std::vector<float>(st.begin() + int64_t(j * stride), st.begin() + int64_t(j * stride + count)),
                  state.arrays[j], 1e-6 * scale, 1e-5, "state");
    }
  }
}

const uint64_t kCounts[] = {1, 3, 127, 4099};

// Base rates: torch's defaults (sgd's Fovea default 0.01 raised to 0.1 so
// momentum and decay move the weights visibly).
double base_lr(Optimizer k) { return k == Optimizer::Sgd || k == Optimizer::Nesterov ? 0.1 : ops::default_lr(k); }

}  // namespace

TEST_CASE("every optimizer follows its torch.optim reference over 20 steps", "[optim]") {
  uint64_t seed = 1;
  for (Optimizer k : ops::all_optimizers())
    for (uint64_t n : kCounts) check_optimizer(config(k), n, base_lr(k), seed += 100);
}

TEST_CASE("every optimizer applies weight decay as torch.optim does", "[optim]") {
  // L2 added to the gradient, except adamw: p *= 1 - lr weight_decay.
  uint64_t seed = 5000;
  for (Optimizer k : ops::all_optimizers())
    for (uint64_t n : {3ull, 4099ull}) check_optimizer(config(k, 0.05), n, base_lr(k), seed += 100);
  // AdamW's decay at a rate where it dominates the update.
  check_optimizer(config(Optimizer::AdamW, 0.5), 131, 0.05, 9000);
}

TEST_CASE("rmsprop centred and with momentum follows torch.optim.RMSprop", "[optim]") {
  uint64_t seed = 10000;
  for (bool centered : {false, true})
    for (double momentum : {0.0, 0.9}) {
      ops::OptimConfig c = config(Optimizer::RmsProp, 0.01);
      c.centered = centered;
      c.momentum = momentum;
      for (uint64_t n : {3ull, 127ull, 4099ull}) check_optimizer(c, n, 0.01, seed += 100);
    }
}

TEST_CASE("optimizers with other hyperparameters follow their references", "[optim]") {
  ops::OptimConfig c = config(Optimizer::Sgd);
  c.momentum = 0;
  check_optimizer(c, 31, 0.5, 20000);
  c = config(Optimizer::Nesterov, 0.01);
  c.momentum = 0.5;
  check_optimizer(c, 1025, 0.2, 20100);
  c = config(Optimizer::Adam);
  c.beta1 = 0.5;
  c.beta2 = 0.9;
  c.eps = 1e-3;
  check_optimizer(c, 66, 0.01, 20200);
  c = config(Optimizer::NAdam);
  c.momentum_decay = 0.1;  // mu_t changes visibly from step to step
  check_optimizer(c, 66, 0.01, 20300);
  c = config(Optimizer::Adadelta);
  c.rho = 0.5;
  check_optimizer(c, 66, 1.0, 20400);
}

TEST_CASE("every optimizer places eps where torch.optim does", "[optim]") {
  // With the default eps (1e-8 against |g| ~ 0.5) eps inside or outside a
  // sqrt or a max changes the step by ~1e-8, below any tolerance: eps 0.1
  // makes its place matter.
  uint64_t seed = 30000;
  for (Optimizer k : ops::all_optimizers()) {
    if (k == Optimizer::Sgd || k == Optimizer::Nesterov) continue;
    ops::OptimConfig c = config(k);
    c.eps = 0.1;
    check_optimizer(c, 67, base_lr(k), seed += 100);
  }
}

TEST_CASE("optimizer coefficients do not depend on which steps were asked before", "[optim]") {
  // The trainer asks for t = 1, 2, 3, ...; NAdam keeps its running product
  // between calls and must recompute it for any other t.
  ops::OptimConfig c = config(Optimizer::NAdam);
  ops::OptimCoefficients seq(c);
  std::array<float, 4> at7{};
  for (uint64_t t = 1; t <= 7; ++t) at7 = seq.at(t, 0.002);
  ops::OptimCoefficients fresh(c);
  CHECK(fresh.at(7, 0.002) == at7);
  CHECK(fresh.at(3, 0.002) != at7);
  CHECK(fresh.at(7, 0.002) == at7);
}

TEST_CASE("optimizer names, defaults and validation", "[optim]") {
  for (Optimizer k : ops::all_optimizers()) CHECK(ops::parse_optimizer(ops::optimizer_name(k)) == k);
  CHECK_THROWS_WITH(ops::parse_optimizer("adamm"), Catch::Contains("--optimizer must be one of"));
  // A few of torch.optim's defaults, and Fovea's momentum 0.9 for sgd.
  CHECK(ops::optimizer_defaults(Optimizer::RmsProp).momentum == 0.0);
  CHECK(ops::optimizer_defaults(Optimizer::Sgd).momentum == 0.9);
  CHECK(ops::optimizer_defaults(Optimizer::Adagrad).eps == 1e-10);
  CHECK(ops::optimizer_defaults(Optimizer::Adadelta).eps == 1e-6);
  CHECK(ops::optimizer_defaults(Optimizer::AdamW).weight_decay == 0.01);
  CHECK(ops::default_lr(Optimizer::Adadelta) == 1.0);
  CHECK(ops::default_lr(Optimizer::NAdam) == 0.002);
  ops::OptimConfig c = config(Optimizer::Adam);
  c.beta1 = 1.0;
  CHECK_THROWS_WITH(ops::validate_optimizer(c), Catch::Contains("--beta1 must be in [0, 1)"));
  c = config(Optimizer::Nesterov);
  c.momentum = 0;
  CHECK_THROWS_WITH(ops::validate_optimizer(c), Catch::Contains("--momentum must be greater than 0"));
  c = config(Optimizer::Adagrad);
  c.eps = -1;
  CHECK_THROWS_WITH(ops::validate_optimizer(c), Catch::Contains("--eps"));
}

}  // namespace fovea::test
