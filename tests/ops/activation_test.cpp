// activation: every kind's forward and backward against the double
// reference on awkward counts (vec4 body and scalar tail), at kinks and
// extremes, with non-default parameters, and against finite differences of
// the reference forward; the float erf behind GELU against std::erf; ReLU's
// legacy entry points, including a count past the grid-stride cap.
#include <catch2/catch.hpp>
#include <cmath>

#include "gpu/harness.h"
#include "ops/activation.h"
#include "ops/op_check.h"
#include "reference/activation.h"
#include "util/error.h"

namespace fovea::test {
namespace {

using ops::Activation;

constexpr Activation kAll[] = {Activation::Relu,    Activation::LeakyRelu, Activation::Elu,
                               Activation::Selu,    Activation::Gelu,      Activation::Tanh,
                               Activation::Sigmoid, Activation::Softplus};

struct ActResult {
  std::vector<float> x, dy, y, dx;
};

// x -> y = f(x) and (x or y, dy) -> dx in one program, the training order:
// for Tanh and Sigmoid the backward reads the kernel's own y.
ActResult run_act(Activation a, const ops::ActivationParams& q, const std::vector<float>& x,
                  const std::vector<float>& dy) {
  const uint64_t n = x.size();
  OpRun run;
  auto vx = run.tensor("x", n), vdy = run.tensor("dy", n), vy = run.tensor("y", n);
  auto vdx = run.tensor("dx", n);
  run.commit();
  run.set(vx, x);
  run.set(vdy, dy);
  run.set(vy, garbage(n, 1));
  run.set(vdx, garbage(n, 2));
  const std::string name = ops::activation_name(a);
  ops::record_activation_forward(run.program(), a, q, n, vx, vy, name + ".forward");
  // The tensor the backward does not read is passed as an invalid view.
  const bool from_y = ops::activation_backward_uses_output(a);
  ops::record_activation_backward(run.program(), a, q, n, from_y ? gpu::View{} : vx,
                                  from_y ? vy : gpu::View{}, vdy, vdx, name + ".backward");
  run.run();
  return {x, dy, run.get(vy, n), run.get(vdx, n)};
}

// Float kernels against the double reference: exp-based kinds carry a few
// ulps (relative) plus ~1e-7 absolute from erf and exp near 0; a wrong
// constant (SELU's alpha to 4 digits: 3e-5 relative) or a wrong branch fails.
constexpr double kAtol = 2e-7, kRtol = 2e-6;

void check_act(Activation a, const ops::ActivationParams& q, const ActResult& r) {
  INFO(ops::activation_name(a) << ", count " << r.x.size());
  const ref::Tensor x = ref::widen(r.x);
  check_close(r.y, ref::activation_forward(a, q, x), kAtol, kRtol, "y");
  // The backward against the reference given the same y (Tanh, Sigmoid), so
  // it is judged on its own; the forward's y was checked just above.
  check_close(r.dx, ref::activation_backward(a, q, x, ref::widen(r.y), ref::widen(r.dy)), kAtol,
              kRtol, "dx");
}

}  // namespace

TEST_CASE("activations match the reference forward and backward on awkward counts",
          "[activation]") {
  uint64_t seed = 100;
  for (Activation a : kAll) {
    for (uint64_t n : {1ull, 3ull, 5ull, 127ull, 4099ull}) {
      seed += 2;
      // [-8, 8] spans every region: erf's two fits, expm1's series and exp,
      // tanh and sigmoid near saturation.
      const ActResult r = run_act(a, {}, random_floats(n, seed, -8, 8), random_floats(n, seed + 1));
      check_act(a, {}, r);
    }
  }
}

TEST_CASE("activations with non-default parameters match the reference", "[activation]") {
  ops::ActivationParams q;
  q.slope = 0.2f;
  q.alpha = 0.7f;
  q.beta = 2.0f;
  q.threshold = 5.0f;  // identity from x > 2.5, inside the sampled range
  uint64_t seed = 200;
  for (Activation a : kAll) {
    seed += 2;
    check_act(a, q, run_act(a, q, random_floats(1001, seed, -6, 6), random_floats(1001, seed + 1)));
  }
}

TEST_CASE("activations at kinks, thresholds and large magnitudes match the reference",
          "[activation]") {
  // 0 and -0 (the kinks of ReLU, LeakyReLU, ELU, SELU), tiny values (where
  // exp(x) - 1, tanh and GELU lose accuracy if computed naively), Softplus's
  // threshold 20 on both sides, magnitudes where exp overflows float, and
  // +-sqrt(2) with its float neighbours (GELU's erf switches fits there).
  std::vector<float> x = {
      0.0f,    -0.0f,       1e-30f,       -1e-30f,    1e-7f,       -1e-7f,     1e-3f,
      -1e-3f,  0.5f,        -0.5f,        1.0f,       -1.0f,       3.0f,       -3.0f,
      8.0f,    -8.0f,       10.0f,        -10.0f,     15.0f,       -15.0f,     30.0f,
      -30.0f,  90.0f,       -90.0f,       100.0f,     -100.0f,     19.99f,     20.0f,
      20.001f, 0.70710677f, -0.70710677f, 1.4142135f, -1.4142135f, 1.4142137f, -1.4142137f};
  const auto dy = random_floats(x.size(), 300, 0.5f, 2.0f);
  for (Activation a : kAll) check_act(a, {}, run_act(a, {}, x, dy));

  // beta 2, threshold 5: the switch to identity at x = 2.5 is a visible jump
  // (log(1 + e^5) / 2 = 2.5034), so the comparison and its side are checked.
  ops::ActivationParams q;
  q.beta = 2.0f;
  q.threshold = 5.0f;
  const float step = std::ldexp(1.0f, -20);
  const std::vector<float> xs = {2.5f - step, 2.5f, 2.5f + step, 2.4f, 2.6f, -2.5f};
  const ActResult r = run_act(Activation::Softplus, q, xs, std::vector<float>(xs.size(), 1.0f));
  check_act(Activation::Softplus, q, r);
  CHECK(r.y[1] > 2.503f);  // at the threshold: still the log form
  CHECK(r.y[2] == xs[2]);  // past it: exactly x, gradient exactly 1
  CHECK(r.dx[2] == 1.0f);

  // PyTorch's subgradients at exactly 0: ReLU 0, LeakyReLU slope, ELU alpha.
  const std::vector<float> zeros = {0.0f, -0.0f};
  const std::vector<float> ones = {1.0f, 1.0f};
  check_close(run_act(Activation::Relu, {}, zeros, ones).dx, {0, 0}, 0, 0, "relu'(0)");
  check_close(run_act(Activation::LeakyRelu, {}, zeros, ones).dx, {0.01, 0.01}, 1e-9, 1e-6,
              "leaky_relu'(0)");
  check_close(run_act(Activation::Elu, {}, zeros, ones).dx, {1, 1}, 0, 1e-7, "elu'(0)");
}

TEST_CASE("activation backward equals finite differences of the reference forward",
          "[activation][gradient]") {
  ops::ActivationParams custom;
  custom.slope = 0.3f;
  custom.alpha = 1.5f;
  custom.beta = 0.5f;
  custom.threshold = 1.0f;  // identity from x > 2
  uint64_t seed = 400;
  for (int variant = 0; variant < 2; ++variant) {
    const ops::ActivationParams q = variant ? custom : ops::ActivationParams{};
    for (Activation a : kAll) {
      INFO(ops::activation_name(a) << (variant ? " (custom parameters)" : ""));
      seed += 2;
      auto x = random_floats(301, seed, -5, 5);
      // Keep |x| >= 0.05 and beta x off the Softplus threshold by >= 0.05,
      // so a step of 1e-4 never crosses a kink.
      for (auto& v : x) {
        v = v > 0 ? v + 0.05f : v - 0.05f;
        if (std::fabs(v * q.beta - q.threshold) < 0.05f) v += 0.1f / q.beta;
      }
      const ActResult r = run_act(a, q, x, random_floats(x.size(), seed + 1));
      const ref::Tensor dy = ref::widen(r.dy);
      // L(x) = sum(f(x) ⊙ dy)
      auto loss = [&](const ref::Tensor& v) {
        const ref::Tensor y = ref::activation_forward(a, q, v);
        double s = 0;
        for (size_t i = 0; i < y.size(); ++i) s += y[i] * dy[i];
        return s;
      };
      check_finite_differences(r.dx, ref::widen(r.x), loss, 1e-4, 301, 1e-6, 1e-5, "dx");
    }
  }
}

TEST_CASE("the float erf behind GELU is within 1e-7 of std::erf from -6 to 6", "[activation]") {
  // 120,001 points, every 1e-4, plus the region boundary 1 and its
  // neighbours in float, where the two fits meet.
  std::vector<float> x;
  for (int i = -60000; i <= 60000; ++i) x.push_back(float(i) * 1e-4f);
  for (float b : {1.0f, -1.0f}) {
    x.push_back(std::nextafter(b, 0.0f));
    x.push_back(std::nextafter(b, 2.0f * b));
  }
  x.push_back(30.0f);
  x.push_back(-30.0f);
  const uint64_t n = x.size();
  OpRun run;
  auto vx = run.tensor("x", n), vy = run.tensor("y", n);
  run.commit();
  run.set(vx, x);
  run.set(vy, garbage(n, 3));
  ops::record_erf(run.program(), n, vx, vy, "erf");
  run.run();
  const auto y = run.get(vy, n);
  ref::Tensor want(n);
  for (uint64_t i = 0; i < n; ++i) want[i] = std::erf(double(x[i]));
  check_close(y, want, 1e-7, 0.0, "erf");
  for (uint64_t i = 0; i < n; ++i)
    if (x[i] == 0.0f) CHECK(y[i] == 0.0f);
}

TEST_CASE("activation names parse, and an unknown name lists the valid ones", "[activation]") {
  for (Activation a : kAll) CHECK(ops::parse_activation(ops::activation_name(a)) == a);
  CHECK(ops::parse_activation("leaky_relu") == Activation::LeakyRelu);
  CHECK_THROWS_WITH(
      ops::parse_activation("swish"),
      Catch::Contains("unknown activation 'swish'") &&
          Catch::Contains("relu, leaky_relu, elu, selu, gelu, tanh, sigmoid, softplus"));
  CHECK_THROWS_AS(ops::parse_activation("ReLU"), Error);
  CHECK(ops::activation_backward_uses_output(Activation::Tanh));
  CHECK(ops::activation_backward_uses_output(Activation::Sigmoid));
  CHECK_FALSE(ops::activation_backward_uses_output(Activation::Gelu));
  CHECK_FALSE(ops::activation_backward_uses_output(Activation::Relu));
}

TEST_CASE("activation ops reject a missing backward source and bad parameters", "[activation]") {
  OpRun run;
  auto x = run.tensor("x", 10), y = run.tensor("y", 10), dy = run.tensor("dy", 10);
  auto dx = run.tensor("dx", 10);
  run.commit();
  auto& p = run.program();
  CHECK_THROWS_WITH(
      ops::record_activation_backward(p, Activation::Sigmoid, {}, 10, x, {}, dy, dx, "act3"),
      Catch::Contains("act3") && Catch::Contains("needs the forward output y"));
  CHECK_THROWS_WITH(
      ops::record_activation_backward(p, Activation::Gelu, {}, 10, {}, y, dy, dx, "act4"),
      Catch::Contains("needs the forward input x"));
  ops::ActivationParams q;
  q.beta = 0.0f;
  CHECK_THROWS_WITH(ops::record_activation_forward(p, Activation::Softplus, q, 10, x, y, "act5"),
                    Catch::Contains("act5") && Catch::Contains("beta non-zero"));
  CHECK_THROWS_WITH(ops::record_activation_forward(p, Activation::Tanh, {}, 11, x, y, "act6"),
                    Catch::Contains("act6") && Catch::Contains("needs 11"));
}

// ReLU's legacy entry points (record_relu_*, used by src/nn/model.cpp) run
// the generic kernels; their results must stay exact.
namespace {

struct ReluResult {
  std::vector<float> x, dy, y, dx;
};

ReluResult run_relu(const std::vector<float>& x, const std::vector<float>& dy) {
  const uint64_t n = x.size();
  OpRun run;
  auto vx = run.tensor("x", n), vdy = run.tensor("dy", n), vy = run.tensor("y", n);
  auto vdx = run.tensor("dx", n);
  run.commit();
  run.set(vx, x);
  run.set(vdy, dy);
  run.set(vy, garbage(n, 1));
  run.set(vdx, garbage(n, 2));
  ops::record_relu_forward(run.program(), n, vx, vy, "relu.forward");
  ops::record_relu_backward(run.program(), n, vy, vdy, vdx, "relu.backward");
  run.run();
  return {x, dy, run.get(vy, n), run.get(vdx, n)};
}

void check_relu_against_reference(const ReluResult& r) {
  const ref::Tensor y = ref::relu_forward(ref::widen(r.x));
  // Both kernels copy or zero values: the result must be exact.
  check_close(r.y, y, 0.0, 0.0, "y");
  check_close(r.dx, ref::relu_backward(y, ref::widen(r.dy)), 0.0, 0.0, "dx");
}

}  // namespace

TEST_CASE("relu forward and backward match the reference on awkward counts", "[activation]") {
  uint64_t seed = 10;
  for (uint64_t n : {1ull, 3ull, 17ull, 63ull, 65ull, 127ull, 129ull, 4097ull, 100003ull}) {
    INFO("count " << n);
    check_relu_against_reference(run_relu(random_floats(n, seed), random_floats(n, seed + 1)));
    seed += 2;
  }
}

TEST_CASE("relu over more elements than 65535 workgroups of 64 lanes cover", "[activation]") {
  // stride_groups caps the grid at 65,535 x 64 lanes of 4 values each
  // (16,776,960 values); past that each lane loops, and the last vec4s and
  // the 3-value scalar tail are only reached through the loop and the tail.
  const uint64_t n = 4ull * 65535 * 64 + 1003;
  check_relu_against_reference(run_relu(random_floats(n, 30), random_floats(n, 31)));
}

TEST_CASE("relu gradient at exactly zero is zero as in PyTorch", "[activation]") {
  std::vector<float> x = {0.0f, -0.0f, 1e-30f, -1e-30f, 2.5f, -2.5f, 0.0f};
  std::vector<float> dy = {3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f};
  const ReluResult r = run_relu(x, dy);
  check_close(r.dx, {0, 0, 5, 0, 7, 0, 0}, 0.0, 0.0, "dx");
  check_relu_against_reference(r);
}

TEST_CASE("relu backward equals finite differences of the reference forward",
          "[activation][gradient]") {
  for (uint64_t n : {1ull, 31ull, 1000ull}) {
    INFO("count " << n);
    auto x = random_floats(n, n);
    for (auto& v : x) v = v > 0 ? v + 0.05f : v - 0.05f;  // a 1e-3 step never crosses 0
    const ReluResult r = run_relu(x, random_floats(n, n + 1));
    const ref::Tensor dy = ref::widen(r.dy);
    // L(x) = sum(relu(x) ⊙ dy)
    auto loss = [&](const ref::Tensor& v) {
      const ref::Tensor y = ref::relu_forward(v);
      double s = 0;
      for (size_t i = 0; i < y.size(); ++i) s += y[i] * dy[i];
      return s;
    };
    check_finite_differences(r.dx, ref::widen(r.x), loss, 1e-3, 200, 1e-9, 1e-9, "dx");
  }
}

}  // namespace fovea::test
