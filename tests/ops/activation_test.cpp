// activation: ReLU forward and backward against the reference, on awkward
// counts and on one past the grid-stride cap (65,535 workgroups of 64), and
// the backward against finite differences of the reference forward.
#include <catch2/catch.hpp>

#include "gpu/harness.h"
#include "ops/activation.h"
#include "ops/op_check.h"
#include "reference/activation.h"

namespace fovea::test {
namespace {

struct ReluResult {
  std::vector<float> x, dy, y, dx;
};

// x -> y = relu(x) and (y, dy) -> dx in one program, the training order.
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

// Keeps |x| >= 0.05 so a finite-difference step of 1e-3 never crosses the kink.
std::vector<float> away_from_zero(std::vector<float> x) {
  for (auto& v : x) v = v > 0 ? v + 0.05f : v - 0.05f;
  return x;
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
  // stride_groups caps the grid at 65,535 x 64 = 4,194,240 lanes; past that
  // each lane loops, and the tail elements are only reached by the loop.
  const uint64_t n = 65535ull * 64 + 1001;
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
    const ReluResult r = run_relu(away_from_zero(random_floats(n, n)), random_floats(n, n + 1));
    const ref::Tensor dy = ref::widen(r.dy);
    // L(x) = sum(relu(x) ⊙ dy)
    auto loss = [&](const ref::Tensor& x) {
      const ref::Tensor y = ref::relu_forward(x);
      double s = 0;
      for (size_t i = 0; i < y.size(); ++i) s += y[i] * dy[i];
      return s;
    };
    check_finite_differences(r.dx, ref::widen(r.x), loss, 1e-3, 200, 1e-9, 1e-9, "dx");
  }
}

}  // namespace fovea::test
