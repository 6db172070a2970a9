// Max-Drop (Park & Kwak): the kernels against the reference given the same
// uniforms, per feature map and across channels, with ties and with groups
// longer than one reduction chunk (4096); finite differences of the
// backward; the drop rate of the maxima and the expectation; the same mask
// for the same step, another for another step.
#include <catch2/catch.hpp>

#include "ops/max_drop.h"
#include "ops/op_check.h"
#include "reference/max_drop.h"
#include "reference/rng.h"

namespace fovea::test {
namespace {

constexpr uint32_t kSeed = 99, kStream = 4;

struct DropCase {
  uint32_t n, c, h, w;
  bool across;
};

uint64_t count(const DropCase& k) { return uint64_t(k.n) * k.c * k.h * k.w; }
ref::MaxDropShape ref_shape(const DropCase& k) { return {k.n, k.c, k.h, k.w, k.across}; }
ops::MaxDropShape op_shape(const DropCase& k) { return {k.n, k.c, k.h, k.w, k.across}; }

ref::Tensor uniforms(uint64_t n, uint32_t step) {
  ref::Tensor u(n);
  for (uint64_t e = 0; e < n; ++e) u[e] = ref::philox_uniform(kSeed, kStream, step, 0, e);
  return u;
}

struct DropResult {
  std::vector<float> y, maxima, dx;
};

DropResult run_drop(const DropCase& k, float p, uint32_t step, const std::vector<float>& x,
                    const std::vector<float>& dy) {
  const uint64_t n = count(k), groups = op_shape(k).groups();
  OpRun run;
  auto vx = run.tensor("x", n), vm = run.tensor("maxima", groups), vy = run.tensor("y", n);
  auto vdy = run.tensor("dy", n), vdx = run.tensor("dx", n);
  run.commit();
  run.set(vx, x);
  run.set(vdy, dy);
  run.set(vm, garbage(groups, 1));
  run.set(vy, garbage(n, 2));
  run.set(vdx, garbage(n, 3));
  ops::record_max_drop_forward(run.program(), op_shape(k), p, kStream, vx, vm, vy, "max_drop.forward");
  ops::record_max_drop_backward(run.program(), op_shape(k), p, kStream, vx, vm, vdy, vdx, "max_drop.backward");
  nn::StepParams sp;
  sp.seed = kSeed, sp.step = step, sp.rows = k.n;
  run.run(sp);
  return {run.get(vy, n), run.get(vm, groups), run.get(vdx, n)};
}

std::string describe(const DropCase& k, float p) {
  return "x " + std::to_string(k.n) + "x" + std::to_string(k.c) + "x" + std::to_string(k.h) + "x" +
         std::to_string(k.w) + (k.across ? " across channels" : " per feature map") + ", p " + std::to_string(p);
}

// Odd planes, a 1x1 plane, planes of 70 x 65 = 4550 and 5,000 channels
// (two reduction chunks) in both groupings.
const DropCase kCases[] = {
    {2, 3, 7, 9, false},  {3, 5, 11, 13, true}, {1, 17, 1, 1, false}, {1, 17, 1, 1, true},
    {2, 2, 70, 65, false}, {2, 5000, 1, 3, true}, {5, 31, 3, 5, false}, {1, 1, 1, 1, true},
};

}  // namespace

TEST_CASE("max-drop forward and backward match the reference with the same uniforms", "[max_drop]") {
  uint64_t seed = 10;
  uint32_t step = 0;
  for (const DropCase& k : kCases)
    for (float p : {0.3f, 1.0f}) {
      ++seed, step += 3;
      INFO(describe(k, p));
      auto x = random_floats(count(k), seed);
      // Half the cases with values from {0.25, 0.5, 0.75, 1}: tied maxima.
      if (seed % 2)
        for (float& v : x) v = 0.25f * float(1 + int((v + 1.0f) * 2.0f));
      const auto dy = random_floats(count(k), seed + 50);
      const DropResult r = run_drop(k, p, step, x, dy);
      const auto dropped = ref::max_drop_dropped(ref_shape(k), ref::widen(x), uniforms(count(k), step), p);
      check_close(r.maxima, ref::max_drop_maxima(ref_shape(k), ref::widen(x)), 0, 0, "maxima");
      check_close(r.y, ref::max_drop_apply(ref::widen(x), dropped), 0, 0, "y");
      check_close(r.dx, ref::max_drop_apply(ref::widen(dy), dropped), 0, 0, "dx");
    }
}

TEST_CASE("max-drop backward equals finite differences with the mask of a fixed step", "[max_drop][gradient]") {
  uint64_t seed = 40;
  for (const DropCase& k : {kCases[0], kCases[1], kCases[6]}) {
    INFO(describe(k, 0.5f));
    const auto x = distinct_floats(count(k), ++seed), dy = random_floats(count(k), seed + 1);
    const DropResult r = run_drop(k, 0.5f, 8, x, dy);
    const ref::Tensor u = uniforms(count(k), 8);
    auto loss = [&](const ref::Tensor& v) {
      return weighted_sum(ref::max_drop_apply(v, ref::max_drop_dropped(ref_shape(k), v, u, 0.5f)), dy);
    };
    // Values 2/n apart: a step of 0.1/n keeps every group's maximum.
    check_finite_differences(r.dx, ref::widen(x), loss, 0.1 / double(count(k)), 400, 1e-6, 1e-6, "dx");
  }
}

TEST_CASE("max-drop drops each maximum with probability p and nothing else", "[max_drop][statistics]") {
  for (const DropCase& k : {DropCase{16, 40, 9, 7, false}, DropCase{16, 7, 13, 11, true}}) {
    const auto x = distinct_floats(count(k), 70);  // one maximum per group
    for (float p : {0.2f, 0.7f}) {
      INFO(describe(k, p));
      std::vector<double> dropped, loss_share;
      for (uint32_t step : {1u, 2u, 3u}) {
        const DropResult r = run_drop(k, p, step, x, x);
        const uint64_t groups = r.maxima.size();
        std::vector<double> sum_x(groups), sum_y(groups);
        uint64_t changed = 0;
        for (uint64_t e = 0; e < x.size(); ++e) {
          const uint64_t plane = uint64_t(k.h) * k.w;
          const uint64_t g = k.across ? e / (k.c * plane) * plane + e % plane : e / plane;
          if (x[e] == r.maxima[g]) {
            dropped.push_back(r.y[e] == 0.0f);
            sum_x[g] += x[e], sum_y[g] += r.y[e];
          } else {
            changed += r.y[e] != x[e];
          }
        }
        CHECK(changed == 0);
        // E[sum of y] = sum of x - p * max: the removed share of the maximum.
        for (uint64_t g = 0; g < groups; ++g) loss_share.push_back((sum_x[g] - sum_y[g]) / r.maxima[g]);
      }
      check_expectation(dropped, p, "fraction of maxima dropped");
      check_expectation(loss_share, p, "E[sum x - sum y] / max");
    }
  }
}

TEST_CASE("max-drop: the same step draws the same mask, another step another", "[max_drop]") {
  const DropCase k{8, 30, 5, 5, false};
  const auto x = distinct_floats(count(k), 80), dy = random_floats(count(k), 81);
  const DropResult a = run_drop(k, 0.5f, 4, x, dy), b = run_drop(k, 0.5f, 4, x, dy), c = run_drop(k, 0.5f, 5, x, dy);
  CHECK(a.y == b.y);
  CHECK(a.dx == b.dx);
  uint64_t differ = 0;
  for (size_t i = 0; i < a.y.size(); ++i) differ += a.y[i] != c.y[i];
  CHECK(differ > 40);  // of 240 maxima, about half differ
  const DropResult none = run_drop(k, 0.0f, 4, x, dy);
  CHECK(none.y == x);
  CHECK(none.dx == dy);
}

TEST_CASE("max-drop rejects bad probabilities, empty tensors and small views", "[max_drop][errors]") {
  OpRun run;
  auto a = run.tensor("a", 64), small = run.tensor("small", 2);
  run.commit();
  auto& p = run.program();
  CHECK_THROWS_WITH(ops::record_max_drop_forward(p, {1, 2, 4, 4, false}, 1.5f, 0, a, a, a, "md"),
                    Catch::Contains("md: drop probability 1.500000 is outside [0, 1]"));
  CHECK_THROWS_WITH(ops::record_max_drop_forward(p, {1, 0, 4, 4, false}, 0.5f, 0, a, a, a, "md"),
                    Catch::Contains("md: empty input 1x0x4x4"));
  CHECK_THROWS_WITH(ops::record_max_drop_backward(p, {1, 3, 4, 4, false}, 0.5f, 0, a, small, a, a, "md"),
                    Catch::Contains("md (maxima): view small holds 2 values, needs 3"));
  CHECK(p.dispatches().empty());
}

}  // namespace fovea::test
