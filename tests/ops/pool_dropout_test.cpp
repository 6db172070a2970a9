// Pooling dropout (max and average, Wu & Gu): the kernels against the
// reference given the same Philox mask, on odd planes with padding and
// overlapping windows; finite differences of the backward; the mask rate
// and what each layer's expectation is; the same mask for the same step and
// another for another step; p = 0 as plain pooling, bit for bit.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstring>
#include <functional>

#include "ops/op_check.h"
#include "ops/pool.h"
#include "reference/pool.h"
#include "reference/rng.h"

namespace fovea::test {
namespace {

constexpr uint32_t kSeed = 2024, kStream = 7;

ops::Pool2dShape op_shape(const ref::Pool2dShape& r) {
  return {r.batch, r.channels, r.height, r.width, r.kh, r.kw, r.sh, r.sw, r.ph, r.pw, 1, 1};
}
uint64_t in_count(const ref::Pool2dShape& s) { return uint64_t(s.batch) * s.channels * s.height * s.width; }
uint64_t out_count(const ref::Pool2dShape& s) { return uint64_t(s.batch) * s.channels * s.out_h() * s.out_w(); }

nn::StepParams step_params(uint32_t step) {
  nn::StepParams sp;
  sp.seed = kSeed, sp.step = step, sp.rows = 1;
  return sp;
}

struct DropResult {
  std::vector<float> y, dx;
  std::vector<uint32_t> arg;
};

// Forward then backward of max (or average, padding counted as `cip`)
// pooling dropout at `step`, in one program. p < 0: plain pooling.
DropResult run_drop(bool max, bool cip, const ref::Pool2dShape& s, float p, uint32_t step,
                    const std::vector<float>& x, const std::vector<float>& dy) {
  const uint64_t ni = in_count(s), no = out_count(s);
  OpRun run;
  auto vx = run.tensor("x", ni), vy = run.tensor("y", no), va = run.tensor("argmax", no);
  auto vdy = run.tensor("dy", no), vdx = run.tensor("dx", ni);
  run.commit();
  run.set(vx, x);
  run.set(vdy, dy);
  run.set(vy, garbage(no, 1));
  run.set(va, garbage(no, 2));
  run.set(vdx, garbage(ni, 3));
  const ops::PoolDropout d{p, kStream};
  auto& prog = run.program();
  if (max && p >= 0) {
    ops::record_maxpool_dropout_forward(prog, op_shape(s), d, vx, vy, va, "maxdrop.forward");
    ops::record_maxpool_dropout_backward(prog, op_shape(s), d, va, vdy, vdx, "maxdrop.backward");
  } else if (max) {
    ops::record_maxpool2d_forward(prog, op_shape(s), vx, vy, va, "max.forward");
    ops::record_maxpool2d_backward(prog, op_shape(s), va, vdy, vdx, "max.backward");
  } else if (p >= 0) {
    ops::record_avgpool_dropout_forward(prog, op_shape(s), cip, d, vx, vy, "avgdrop.forward");
    ops::record_avgpool_dropout_backward(prog, op_shape(s), cip, d, vdy, vdx, "avgdrop.backward");
  } else {
    ops::record_avgpool2d_forward(prog, op_shape(s), cip, vx, vy, "avg.forward");
    ops::record_avgpool2d_backward(prog, op_shape(s), cip, vdy, vdx, "avg.backward");
  }
  run.run(step_params(step));
  DropResult r{run.get(vy, no), run.get(vdx, ni), std::vector<uint32_t>(no)};
  const auto bits = run.get(va, no);
  if (max) std::memcpy(r.arg.data(), bits.data(), no * 4);
  return r;
}

std::string describe(const ref::Pool2dShape& s, float p, uint32_t step) {
  return "x " + std::to_string(s.batch) + "x" + std::to_string(s.channels) + "x" + std::to_string(s.height) +
         "x" + std::to_string(s.width) + ", kernel " + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
         ", stride " + std::to_string(s.sh) + "x" + std::to_string(s.sw) + ", padding " + std::to_string(s.ph) +
         "x" + std::to_string(s.pw) + ", p " + std::to_string(p) + ", step " + std::to_string(step);
}

// Odd planes, overlapping windows with padding, non-square windows, kernel
// 1, channels 1..31: no size a multiple of the 64-lane workgroups.
const ref::Pool2dShape kShapes[] = {
    {2, 3, 7, 9, 2, 2, 2, 2, 0, 0},   {3, 5, 11, 13, 3, 3, 2, 2, 1, 1}, {1, 17, 9, 7, 3, 3, 1, 1, 1, 1},
    {3, 17, 10, 15, 2, 3, 1, 2, 1, 0}, {1, 3, 4, 5, 1, 1, 1, 1, 0, 0},  {5, 31, 8, 9, 2, 2, 2, 2, 1, 1},
    {3, 5, 9, 1, 3, 1, 2, 1, 1, 0},
};

}  // namespace

TEST_CASE("pooling dropout forward and backward match the reference with the same mask", "[pool_dropout]") {
  uint64_t seed = 30;
  uint32_t step = 0;
  for (const ref::Pool2dShape& s : kShapes)
    for (float p : {0.25f, 0.6f}) {
      ++seed, step += 11;
      INFO(describe(s, p, step));
      const auto x = random_floats(in_count(s), seed), dy = random_floats(out_count(s), seed + 100);
      const auto keep = ref::pool_dropout_mask(kSeed, kStream, step, p, in_count(s));
      const DropResult m = run_drop(true, false, s, p, step, x, dy);
      const ref::MaxPool2d want = ref::maxpool_dropout_forward(s, ref::widen(x), keep);
      check_close(m.y, want.y, 0, 0, "max y");
      REQUIRE(m.arg == want.argmax);
      check_close(m.dx, ref::maxpool_dropout_backward(s, want.argmax, ref::widen(dy), keep), 1e-6, 1e-6, "max dx");
      const bool cip = seed % 2 == 0;
      const DropResult a = run_drop(false, cip, s, p, step, x, dy);
      check_close(a.y, ref::avgpool_dropout_forward(s, cip, p, ref::widen(x), keep), 1e-6, 1e-5, "avg y");
      check_close(a.dx, ref::avgpool_dropout_backward(s, cip, p, ref::widen(dy), keep), 1e-6, 1e-5, "avg dx");
    }
}

TEST_CASE("pooling dropout backward equals finite differences with the mask of a fixed step",
          "[pool_dropout][gradient]") {
  uint64_t seed = 60;
  const float p = 0.4f;
  const uint32_t step = 5;
  for (const ref::Pool2dShape& s : kShapes) {
    INFO(describe(s, p, step));
    const auto keep = ref::pool_dropout_mask(kSeed, kStream, step, p, in_count(s));
    // Distinct values 2/n apart and at least 0.5/n from the dropped taps' 0:
    // a step of 0.1/n never changes a window's winner.
    const auto x = distinct_floats(in_count(s), ++seed);
    const auto dy = random_floats(out_count(s), seed + 1);
    const DropResult m = run_drop(true, false, s, p, step, x, dy);
    check_finite_differences(
        m.dx, ref::widen(x),
        [&](const ref::Tensor& v) { return weighted_sum(ref::maxpool_dropout_forward(s, v, keep).y, dy); },
        0.1 / double(in_count(s)), 300, 1e-6, 1e-5, "max dx");
    const DropResult a = run_drop(false, true, s, p, step, x, dy);
    check_finite_differences(
        a.dx, ref::widen(x),
        [&](const ref::Tensor& v) { return weighted_sum(ref::avgpool_dropout_forward(s, true, p, v, keep), dy); },
        1e-2, 300, 1e-6, 1e-5, "avg dx");
  }
}

TEST_CASE("pooling dropout drops inputs at rate p and average pooling dropout keeps the mean",
          "[pool_dropout][statistics]") {
  // Kernel 1: y = mask ⊙ x (max) and mask ⊙ x / (1 - p) (average), so the
  // zeros of y are the dropped inputs.
  const ref::Pool2dShape unit{4, 9, 61, 59, 1, 1, 1, 1, 0, 0};
  const auto x = random_floats(in_count(unit), 90, 0.1f, 1.0f);
  for (float p : {0.1f, 0.5f, 0.8f}) {
    INFO("p " << p);
    for (bool max : {true, false}) {
      const DropResult r = run_drop(max, true, unit, p, 3, x, random_floats(out_count(unit), 91));
      std::vector<double> dropped(r.y.size());
      for (size_t i = 0; i < r.y.size(); ++i) {
        dropped[i] = r.y[i] == 0.0f;
        if (r.y[i] != 0.0f) REQUIRE(r.y[i] == (max ? x[i] : float(x[i] * float(1.0 / (1.0 - p)))));
      }
      check_expectation(dropped, p, max ? "max: fraction dropped" : "average: fraction dropped");
    }
  }
  // Disjoint 3x3 windows: independent outputs. E[avgpool_dropout(x)] =
  // avgpool(x) for every window; E[maxpool_dropout(x)] over a window of
  // positive values is Wu & Gu's probabilistic weighted pooling
  // sum_j (1 - p) p^(j-1) x_(j) (x_(1) the largest), below the plain max.
  const ref::Pool2dShape s{6, 11, 33, 30, 3, 3, 3, 3, 0, 0};
  const auto xp = random_floats(in_count(s), 92, 0.1f, 1.0f);
  const auto dy = random_floats(out_count(s), 93);
  const float p = 0.5f;
  const DropResult plain = run_drop(false, true, s, -1, 0, xp, dy);
  std::vector<double> avg_diff, max_diff, below;
  for (uint32_t step : {1u, 2u}) {
    const DropResult a = run_drop(false, true, s, p, step, xp, dy);
    const DropResult m = run_drop(true, true, s, p, step, xp, dy);
    const ref::Tensor plain_max = ref::maxpool2d_forward(s, ref::widen(xp)).y;
    for (uint64_t o = 0; o < a.y.size(); ++o) {
      avg_diff.push_back(double(a.y[o]) - plain.y[o]);
      // The window of output o, sorted largest first.
      const uint64_t plane = o / (s.out_h() * s.out_w()), oh = o / s.out_w() % s.out_h(), ow = o % s.out_w();
      std::vector<double> w;
      for (uint32_t i = 0; i < 3; ++i)
        for (uint32_t j = 0; j < 3; ++j) w.push_back(xp[(plane * s.height + 3 * oh + i) * s.width + 3 * ow + j]);
      std::sort(w.rbegin(), w.rend());
      double expect = 0, weight = 1 - p;
      for (double v : w) expect += weight * v, weight *= p;
      max_diff.push_back(m.y[o] - expect);
      below.push_back(plain_max[o] - m.y[o]);
    }
  }
  check_expectation(avg_diff, 0.0, "average pooling dropout minus average pooling");
  check_expectation(max_diff, 0.0, "max pooling dropout minus probabilistic weighted pooling");
  CHECK(sample_mean(below).mean > 20 * sample_mean(below).se);  // max pooling dropout lowers the mean
}

TEST_CASE("pooling dropout: the same step draws the same mask, another step another; p = 0 is plain pooling",
          "[pool_dropout]") {
  const ref::Pool2dShape s{3, 5, 11, 13, 3, 3, 2, 2, 1, 1};
  const auto x = random_floats(in_count(s), 120), dy = random_floats(out_count(s), 121);
  for (bool max : {true, false}) {
    INFO((max ? "max" : "average"));
    const DropResult a = run_drop(max, true, s, 0.5f, 9, x, dy), b = run_drop(max, true, s, 0.5f, 9, x, dy);
    const DropResult c = run_drop(max, true, s, 0.5f, 10, x, dy);
    CHECK(a.y == b.y);
    CHECK(a.dx == b.dx);
    uint64_t differ = 0;
    for (size_t i = 0; i < a.y.size(); ++i) differ += a.y[i] != c.y[i];
    CHECK(differ > a.y.size() / 4);
    const DropResult zero = run_drop(max, true, s, 0.0f, 9, x, dy), plain = run_drop(max, true, s, -1, 9, x, dy);
    CHECK(zero.y == plain.y);
    CHECK(zero.dx == plain.dx);
    CHECK(zero.arg == plain.arg);
  }
}

TEST_CASE("pooling dropout rejects a probability outside 0 to 1", "[pool_dropout][errors]") {
  OpRun run;
  auto a = run.tensor("a", 256), b = run.tensor("b", 256);
  run.commit();
  const ops::Pool2dShape s{1, 1, 8, 8, 2, 2, 2, 2, 0, 0};
  CHECK_THROWS_WITH(ops::record_maxpool_dropout_forward(run.program(), s, {1.0f, 0}, a, b, b, "drop1"),
                    Catch::Contains("drop1: dropout probability 1.000000 is outside [0, 1)"));
  CHECK_THROWS_WITH(ops::record_avgpool_dropout_backward(run.program(), s, true, {-0.5f, 0}, a, b, "drop2"),
                    Catch::Contains("drop2: dropout probability -0.500000 is outside [0, 1)"));
  CHECK(run.program().dispatches().empty());
}

}  // namespace fovea::test
