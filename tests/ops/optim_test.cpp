// optim: the fused SGD kernel against torch.optim.SGD's rule (dampening 0)
// over several steps, with momentum, weight decay, nesterov and a learning
// rate that changes per step through StepParams.
#include <catch2/catch.hpp>

#include "gpu/harness.h"
#include "ops/op_check.h"
#include "ops/optim.h"
#include "reference/optim.h"

namespace fovea::test {
namespace {

struct SgdCase {
  uint64_t count;
  float momentum, weight_decay;
  bool nesterov;
  bool warm_velocity;  // start from a random momentum buffer, not zeros
};

// Runs `lrs.size()` steps of one recorded program with a fresh gradient per
// step and checks parameters (and the momentum buffer) after each step.
void check_sgd(const SgdCase& c, const std::vector<float>& lrs, uint64_t seed) {
  INFO("count " << c.count << ", momentum " << c.momentum << ", weight decay "
                << c.weight_decay << ", nesterov " << c.nesterov << ", warm "
                << c.warm_velocity);
  const auto p0 = random_floats(c.count, seed, -2, 2);
  const auto v0 = c.warm_velocity ? random_floats(c.count, seed + 1)
                                  : std::vector<float>(c.count, 0.0f);
  OpRun run;
  auto p = run.tensor("params", c.count), g = run.tensor("grads", c.count);
  auto v = run.tensor("velocity", c.count);
  run.commit();
  run.set(p, p0);
  run.set(v, v0);
  ops::SgdConfig config{c.momentum, c.weight_decay, c.nesterov};
  ops::record_sgd(run.program(), c.count, config, p, g, v, "sgd");

  ref::Tensor want_p = ref::widen(p0);
  // PyTorch creates the buffer at the first step (buf = g'); a warm start
  // continues from the given buffer.
  ref::Tensor buf = c.warm_velocity ? ref::widen(v0) : ref::Tensor{};
  for (size_t step = 0; step < lrs.size(); ++step) {
    INFO("step " << step << ", lr " << lrs[step]);
    const auto grad = random_floats(c.count, seed + 10 + step);
    run.set(g, grad);
    gpu::StepParams params;
    params.lr = lrs[step];
    params.step = uint32_t(step);
    run.run(params);

    ref::SgdConfig rc{lrs[step], c.momentum, c.weight_decay, c.nesterov};
    ref::sgd_step(rc, want_p, ref::widen(grad), buf);
    // The update is a few float operations per step on values of order 1.
    check_close(run.get(p, c.count), want_p, 1e-6, 1e-5, "params");
    if (c.momentum != 0.0f) check_close(run.get(v, c.count), buf, 1e-6, 1e-5, "velocity");
  }
}

const std::vector<float> kLrs = {0.1f, 0.05f, 0.2f, 0.01f, 0.3f};

}  // namespace

TEST_CASE("sgd with momentum and weight decay follows torch.optim.SGD over five steps",
          "[optim]") {
  uint64_t seed = 1;
  for (uint64_t n : {1ull, 3ull, 127ull, 4099ull})
    check_sgd({n, 0.9f, 0.05f, false, false}, kLrs, seed += 50);
}

TEST_CASE("sgd with nesterov momentum and weight decay follows torch.optim.SGD", "[optim]") {
  uint64_t seed = 300;
  for (uint64_t n : {17ull, 1025ull}) check_sgd({n, 0.8f, 0.01f, true, false}, kLrs, seed += 50);
}

TEST_CASE("sgd continues from an existing momentum buffer", "[optim]") {
  check_sgd({65, 0.5f, 0.1f, false, true}, {0.1f, 0.2f, 0.05f}, 500);
  check_sgd({129, 0.9f, 0.0f, true, true}, {0.1f, 0.2f, 0.05f}, 600);
}

TEST_CASE("sgd without momentum or weight decay is plain gradient descent", "[optim]") {
  check_sgd({31, 0.0f, 0.0f, false, false}, {0.5f, 0.25f, 1.0f}, 700);
  check_sgd({33, 0.0f, 0.2f, false, false}, {0.5f, 0.25f}, 800);
}

}  // namespace fovea::test
