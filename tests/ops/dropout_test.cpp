// dropout: every kind (dropout, dropout2d, Gaussian, alpha, DropConnect's
// weight mask, stochastic depth's per-sample add) against the double
// reference given masks drawn with ref::philox_* as the kernel keys them;
// finite differences of every backward (a fixed step fixes the mask); the
// drop rate and the expectation each kind preserves over ~1e5 values; masks
// that follow the step, the seed and the stream; p = 0 as the identity.
#include <catch2/catch.hpp>

#include <cmath>

#include "gpu/harness.h"
#include "ops/dropout.h"
#include "ops/op_check.h"
#include "reference/dropout.h"
#include "reference/rng.h"

namespace fovea::test {
namespace {

using ops::DropoutKind;
using ops::DropoutMask;

constexpr uint32_t kSeed = 20240607, kStep = 77;

nn::StepParams step_params(uint32_t step = kStep, uint32_t seed = kSeed) {
  nn::StepParams sp;
  sp.step = step;
  sp.seed = seed;
  sp.rows = 1;
  return sp;
}

struct MaskRun {
  std::vector<float> y, dx;
};

// y = [a +] mask(x), then dx = backward(dy), in one program (the backward
// regenerates the mask); a is used when not empty.
MaskRun run_mask(const DropoutMask& m, const std::vector<float>& x, const std::vector<float>& dy,
                 const nn::StepParams& sp, const std::vector<float>& a = {}) {
  const uint64_t n = x.size();
  OpRun run;
  auto vx = run.tensor("x", n), va = run.tensor("a", n), vy = run.tensor("y", n);
  auto vdy = run.tensor("dy", n), vdx = run.tensor("dx", n);
  run.commit();
  run.set(vx, x);
  run.set(va, a.empty() ? garbage(n, 3) : a);
  run.set(vy, garbage(n, 1));
  run.set(vdy, dy);
  run.set(vdx, garbage(n, 2));
  if (a.empty())
    ops::record_dropout_forward(run.program(), m, n, vx, vy, "dropout.forward");
  else
    ops::record_dropout_add_forward(run.program(), m, n, va, vx, vy, "dropout.forward");
  ops::record_dropout_backward(run.program(), m, n, vdy, vdx, "dropout.backward");
  run.run(sp);
  return {run.get(vy, n), run.get(vdx, n)};
}

// The masks the kernel should have drawn (keep flags or multipliers).
ref::Tensor want_mask(const DropoutMask& m, uint64_t draws, const nn::StepParams& sp) {
  if (m.kind == DropoutKind::Gaussian)
    return ref::gaussian_multipliers(sp.seed, m.stream, sp.step, m.purpose, m.p, draws);
  return ref::bernoulli_keep(sp.seed, m.stream, sp.step, m.purpose, m.p, draws);
}

// The layer as a function of x for the fixed mask, and its gradient given dy.
ref::Tensor ref_forward(const DropoutMask& m, const ref::Tensor& mask, const ref::Tensor& x) {
  switch (m.kind) {
    case DropoutKind::Dropout: return ref::dropout(x, mask, m.group, m.p);
    case DropoutKind::Gaussian: return ref::scale_by_mask(x, mask, m.group);
    case DropoutKind::Alpha: break;
  }
  return ref::alpha_dropout(x, mask, m.p);
}
ref::Tensor ref_backward(const DropoutMask& m, const ref::Tensor& mask, const ref::Tensor& dy) {
  return m.kind == DropoutKind::Alpha ? ref::alpha_dropout_backward(dy, mask, m.p)
                                      : ref_forward(m, mask, dy);  // linear in x
}

// Float log and cos behind the Gaussian multipliers agree with double to
// ~1e-6; a wrong draw is off by O(1).
double atol_of(DropoutKind k) { return k == DropoutKind::Gaussian ? 2e-5 : 1e-6; }

const char* kind_name(DropoutKind k) {
  return k == DropoutKind::Dropout ? "dropout" : k == DropoutKind::Gaussian ? "gaussian" : "alpha";
}

}  // namespace

TEST_CASE("dropout kinds match the reference forward and backward on awkward shapes", "[dropout]") {
  // [batch, C, H, W] = [3, 5, 7, 9]: 945 values, a scalar tail after the
  // vec4 part; group 63 (dropout2d's plane) and 315 (a sample) straddle
  // Philox blocks and quads.
  const uint32_t batch = 3, C = 5, plane = 63;
  const uint64_t n = uint64_t(batch) * C * plane;
  uint64_t seed = 10;
  for (DropoutKind kind : {DropoutKind::Dropout, DropoutKind::Gaussian, DropoutKind::Alpha}) {
    for (uint32_t group : {1u, plane, C * plane}) {
      if (kind == DropoutKind::Alpha && group != 1) continue;  // alpha dropout is element-wise only
      for (uint64_t count : {n, uint64_t(1), uint64_t(6)}) {
        if (group > 1 && count != n) continue;
        INFO(kind_name(kind) << ", group " << group << ", count " << count);
        const DropoutMask m{kind, 0.3f, group, 6, 0};
        const auto x = random_floats(count, ++seed), dy = random_floats(count, ++seed);
        const auto sp = step_params();
        const MaskRun r = run_mask(m, x, dy, sp);
        const ref::Tensor mask = want_mask(m, (count + group - 1) / group, sp);
        check_close(r.y, ref_forward(m, mask, ref::widen(x)), atol_of(kind), 1e-6, "y");
        check_close(r.dx, ref_backward(m, mask, ref::widen(dy)), atol_of(kind), 1e-6, "dx");
        // The backward against finite differences of L = sum(dy * y(x)) under the same mask.
        const ref::Tensor w = ref::widen(dy);
        auto L = [&](const ref::Tensor& v) {
          const ref::Tensor y = ref_forward(m, mask, v);
          double s = 0;
          for (uint64_t i = 0; i < y.size(); ++i) s += w[i] * y[i];
          return s;
        };
        check_finite_differences(r.dx, ref::widen(x), L, 1e-3, 200, 1e-5, 1e-4, "dx");
      }
    }
  }
}

TEST_CASE("stochastic depth adds the per-sample masked branch to the shortcut", "[dropout]") {
  // 7 samples of [3, 5, 5]: y = shortcut + keep[n] branch / (1 - p).
  const uint32_t batch = 7, features = 75;
  const uint64_t n = uint64_t(batch) * features;
  const DropoutMask m{DropoutKind::Dropout, 0.4f, features, 3, 0};
  const auto shortcut = random_floats(n, 1), branch = random_floats(n, 2), dy = random_floats(n, 3);
  const auto sp = step_params(5);
  const MaskRun r = run_mask(m, branch, dy, sp, shortcut);
  const ref::Tensor keep = ref::bernoulli_keep(sp.seed, m.stream, sp.step, 0, m.p, batch);
  double kept = 0;
  for (double k : keep) kept += k;
  INFO("kept samples " << kept);
  REQUIRE(kept > 0);  // both cases occur with this seed and step
  REQUIRE(kept < batch);
  check_close(r.y, ref::stochastic_depth(ref::widen(shortcut), ref::widen(branch), keep, features, m.p), 1e-6,
              1e-6, "y");
  check_close(r.dx, ref::dropout(ref::widen(dy), keep, features, m.p), 1e-6, 1e-6, "d branch");
  const ref::Tensor w = ref::widen(dy), s = ref::widen(shortcut);
  auto L = [&](const ref::Tensor& v) {
    const ref::Tensor y = ref::stochastic_depth(s, v, keep, features, m.p);
    double sum = 0;
    for (uint64_t i = 0; i < y.size(); ++i) sum += w[i] * y[i];
    return sum;
  };
  check_finite_differences(r.dx, ref::widen(branch), L, 1e-3, 200, 1e-5, 1e-4, "d branch");

  // In place (y = a), as the add layer records it with three or more inputs.
  OpRun run;
  auto va = run.tensor("a", n), vx = run.tensor("x", n);
  run.commit();
  run.set(va, shortcut);
  run.set(vx, branch);
  ops::record_dropout_add_forward(run.program(), m, n, va, vx, va, "sd.in_place");
  run.run(sp);
  check_close(run.get(va, n), ref::stochastic_depth(ref::widen(shortcut), ref::widen(branch), keep, features, m.p),
              1e-6, 1e-6, "y in place");
}

TEST_CASE("dropout masks drop at rate p and preserve the expectation", "[dropout]") {
  // 102,400 values of x in [0.5, 1.5]. Dropout, dropout2d (planes of 4),
  // DropConnect (the weight mask: group 1 on [units, fan_in]) and stochastic
  // depth (samples of 4): the drop rate over the draws within 5 standard
  // errors of p, and mean(y) / mean(x) within 5 standard errors of 1.
  const uint64_t n = 102400;
  const auto x = random_floats(n, 7, 0.5f, 1.5f);
  double sum_x = 0;
  for (float v : x) sum_x += v;
  struct Case {
    const char* what;
    DropoutKind kind;
    float p;
    uint32_t group;
  };
  for (const Case& c : {Case{"dropout", DropoutKind::Dropout, 0.3f, 1}, Case{"dropout2d", DropoutKind::Dropout, 0.5f, 4},
                        Case{"drop_connect", DropoutKind::Dropout, 0.1f, 1},
                        Case{"stochastic depth", DropoutKind::Dropout, 0.2f, 4},
                        Case{"gaussian", DropoutKind::Gaussian, 0.5f, 1}}) {
    INFO(c.what << ", p " << c.p);
    const DropoutMask m{c.kind, c.p, c.group, 9, 0};
    const MaskRun r = run_mask(m, x, x, step_params(1234));
    double sum_y = 0, sq_y = 0, ratio_sq = 0;
    uint64_t dropped = 0;
    for (uint64_t i = 0; i < n; ++i) {
      sum_y += r.y[i];
      sq_y += double(r.y[i]) * r.y[i];
      const double ratio = double(r.y[i]) / x[i];
      ratio_sq += (ratio - 1) * (ratio - 1);
      if (i % c.group == 0) dropped += r.y[i] == 0.0f;
    }
    const double mean_y = sum_y / n, sd_y = std::sqrt(sq_y / n - mean_y * mean_y);
    CHECK(std::abs(mean_y / (sum_x / n) - 1) < 5 * sd_y / std::sqrt(double(n)) / (sum_x / n));
    if (c.kind == DropoutKind::Dropout) {
      const double draws = double(n / c.group);
      CHECK(std::abs(dropped / draws - c.p) < 5 * std::sqrt(c.p * (1 - c.p) / draws));
    } else {
      // The multiplier's variance p / (1 - p) = 1: its sample variance has
      // standard error sqrt(2 / n) = 0.0044 for a normal.
      CHECK(std::abs(ratio_sq / n - 1) < 5 * std::sqrt(2.0 / n));
    }
  }
}

TEST_CASE("alpha dropout keeps a standard normal input's mean and variance", "[dropout]") {
  // x ~ N(0, 1) (Philox normals of another stream); after alpha dropout with
  // p = 0.2, mean 0 within 5 sd / sqrt(n) and variance 1 within 5 sqrt(2 / n).
  const uint64_t n = 102400;
  std::vector<float> x(n);
  for (uint64_t i = 0; i < n; ++i) x[i] = float(ref::philox_normal(1, 1000, 0, 0, i));
  const DropoutMask m{DropoutKind::Alpha, 0.2f, 1, 4, 0};
  const MaskRun r = run_mask(m, x, x, step_params(99));
  double sum = 0, sq = 0, drop_value = 0;
  uint64_t dropped = 0;
  const double a_prime = -ops::kSeluScale * ops::kSeluAlpha;
  const double a = 1 / std::sqrt((1 - 0.2) * (1 + 0.2 * a_prime * a_prime)), b = -a * a_prime * 0.2;
  for (float v : r.y) {
    sum += v;
    sq += double(v) * v;
    drop_value = a * a_prime + b;
    dropped += std::abs(v - drop_value) < 1e-6;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  CHECK(std::abs(mean) < 5 / std::sqrt(double(n)));
  CHECK(std::abs(var - 1) < 5 * std::sqrt(2.0 / n));
  CHECK(std::abs(double(dropped) / n - 0.2) < 5 * std::sqrt(0.2 * 0.8 / n));
}

TEST_CASE("dropout masks follow the step, seed and stream; p = 0 is the identity", "[dropout]") {
  const uint64_t n = 1001;
  const auto x = random_floats(n, 21), dy = random_floats(n, 22);
  for (DropoutKind kind : {DropoutKind::Dropout, DropoutKind::Gaussian, DropoutKind::Alpha}) {
    INFO(kind_name(kind));
    const DropoutMask m{kind, 0.5f, 1, 2, 0};
    const MaskRun a = run_mask(m, x, dy, step_params(10)), again = run_mask(m, x, dy, step_params(10));
    CHECK(a.y == again.y);
    CHECK(a.dx == again.dx);
    auto differing = [&](const std::vector<float>& other) {
      uint64_t d = 0;
      for (uint64_t i = 0; i < n; ++i) d += other[i] != a.y[i];
      return d;
    };
    // Independent masks with p = 0.5 differ at about half the values (all, for Gaussian).
    CHECK(differing(run_mask(m, x, dy, step_params(11)).y) > n / 4);
    CHECK(differing(run_mask(m, x, dy, step_params(10, kSeed + 1)).y) > n / 4);
    DropoutMask other_stream = m;
    other_stream.stream = 3;
    CHECK(differing(run_mask(other_stream, x, dy, step_params(10)).y) > n / 4);
    // p = 0: y = x and dx = dy exactly.
    DropoutMask off = m;
    off.p = 0;
    const MaskRun id = run_mask(off, x, dy, step_params(10));
    CHECK(id.y == x);
    CHECK(id.dx == dy);
  }
}

TEST_CASE("dropout rejects p of 1 or below 0 and empty counts", "[dropout]") {
  OpRun run;
  auto v = run.tensor("v", 8), w = run.tensor("w", 8);
  run.commit();
  DropoutMask m{DropoutKind::Dropout, 1.0f, 1, 0, 0};
  CHECK_THROWS_WITH(ops::record_dropout_forward(run.program(), m, 8, v, w, "d"), Catch::Contains("p must be in [0, 1)"));
  m.p = -0.1f;
  CHECK_THROWS_WITH(ops::record_dropout_backward(run.program(), m, 8, v, w, "d"), Catch::Contains("p must be in [0, 1)"));
  m.p = 0.5f;
  CHECK_THROWS_WITH(ops::record_dropout_forward(run.program(), m, 0, v, w, "d"), Catch::Contains("count out of range"));
  CHECK_THROWS_WITH(ops::record_dropout_forward(run.program(), m, 9, v, w, "d"), Catch::Contains("holds 8 values"));
}

}  // namespace fovea::test
