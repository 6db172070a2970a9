// optim (penalties and clipping): the penalty-gradient, value-clipping and
// global-norm kernels of shaders/optim against their double references, on
// counts that are not multiples of 4 or 64 and past one norm chunk
// (kClipChunk = 16,384: 70,001 and 200,003 values take 5 and 13 partial
// sums), plus finite differences of ops::penalty_value (the host's
// metrics.jsonl penalty) against the GPU penalty gradient.
#include <catch2/catch.hpp>

#include <cmath>

#include "gpu/harness.h"
#include "ops/op_check.h"
#include "ops/optim.h"
#include "reference/optim.h"

namespace fovea::test {
namespace {

// Random values in [-2, 2] with every 7th one exactly 0 (sign(0) = 0).
std::vector<float> weights_with_zeros(uint64_t n, uint64_t seed) {
  auto w = random_floats(n, seed, -2, 2);
  for (uint64_t i = 0; i < n; i += 7) w[i] = 0.0f;
  return w;
}

// One tensor of `count` values at `offset` inside a block whose other
// values are garbage: the kernel must change only the tensor's gradients.
void check_penalty(uint64_t offset, uint64_t count, double l1, double l2, uint64_t seed) {
  INFO("offset " << offset << ", count " << count << ", l1 " << l1 << ", l2 " << l2);
  const uint64_t block = offset + count + 3;
  auto p = garbage(block, seed), g = garbage(block, seed + 1);
  const auto w = weights_with_zeros(count, seed + 2), g0 = random_floats(count, seed + 3);
  std::copy(w.begin(), w.end(), p.begin() + int64_t(offset));
  std::copy(g0.begin(), g0.end(), g.begin() + int64_t(offset));
  OpRun run;
  auto pv = run.tensor("params", block), gv = run.tensor("grads", block);
  run.commit();
  run.set(pv, p);
  run.set(gv, g);
  ops::record_penalty_grad(run.program(), pv, gv, offset, count, l1, l2, "penalty");
  run.run();
  const auto got = run.get(gv, block);
  ref::Tensor want = ref::widen(g0);
  ref::add_penalty_grad(ref::widen(w), l1, l2, want);
  check_close(std::vector<float>(got.begin() + int64_t(offset), got.begin() + int64_t(offset + count)), want,
              1e-6, 1e-6, "grads");
  for (uint64_t i = 0; i < block; ++i)
    if (i < offset || i >= offset + count) REQUIRE(got[i] == g[i]);
  REQUIRE(run.get(pv, block) == p);  // the weights are only read
}

}  // namespace

TEST_CASE("penalty gradients follow the reference: l1, l2 and elastic net", "[penalty]") {
  uint64_t seed = 40000;
  for (uint64_t count : {1ull, 3ull, 127ull, 70001ull})
    for (uint64_t offset : {0ull, 5ull}) {
      check_penalty(offset, count, 0.3, 0, seed += 10);
      check_penalty(offset, count, 0, 0.7, seed += 10);
      check_penalty(offset, count, 0.3, 0.7, seed += 10);
    }
}

TEST_CASE("the penalty gradient is the derivative of the reported penalty", "[penalty]") {
  // Zero gradients in, so the kernel's output is dPenalty/dw alone; L1 is
  // differentiable away from 0, so every |w| >= 0.05 here (eps 1e-3).
  const uint64_t count = 70001;
  auto w = random_floats(count, 41000, 0.05f, 2.0f);
  const auto signs = random_floats(count, 41001);
  for (uint64_t i = 0; i < count; ++i) w[i] = signs[i] < 0 ? -w[i] : w[i];
  for (auto [l1, l2] : {std::pair{0.2, 0.0}, std::pair{0.0, 0.5}, std::pair{0.2, 0.5}}) {
    INFO("l1 " << l1 << ", l2 " << l2);
    OpRun run;
    auto pv = run.tensor("params", count), gv = run.tensor("grads", count);
    run.commit();
    run.set(pv, w);
    run.set(gv, std::vector<float>(count, 0.0f));
    ops::record_penalty_grad(run.program(), pv, gv, 0, count, l1, l2, "penalty");
    run.run();
    const auto got = run.get(gv, count);
    // Each perturbed value is rounded to float (ops::penalty_value reads
    // floats): about 1e-7 relative to w over 2 eps = 2e-3, so 1e-4 relative.
    check_finite_differences(
        got, ref::widen(w),
        [&](const ref::Tensor& v) {
          std::vector<float> f(v.begin(), v.end());
          return ops::penalty_value(f.data(), f.size(), l1, l2);
        },
        1e-3, 300, 1e-5, 2e-4, "penalty gradient");
    CHECK(ops::penalty_value(w.data(), count, l1, l2) ==
          Approx(ref::penalty(ref::widen(w), l1, l2)).epsilon(1e-12));
  }
}

TEST_CASE("value clipping clamps every gradient and nothing past count", "[clip]") {
  uint64_t seed = 42000;
  for (uint64_t count : {1ull, 5ull, 127ull, 70001ull}) {
    INFO("count " << count);
    const auto g0 = random_floats(count, seed += 10);
    auto tail = garbage(4, seed);
    auto all = g0;
    all.insert(all.end(), tail.begin(), tail.end());
    OpRun run;
    auto gv = run.tensor("grads", count + 4);
    run.commit();
    run.set(gv, all);
    ops::record_clip_value(run.program(), gv, count, 0.3, "clip");
    run.run();
    const auto got = run.get(gv, count + 4);
    ref::Tensor want = ref::widen(g0);
    ref::clip_value(want, double(0.3f));  // the kernel holds V as a float
    check_close(std::vector<float>(got.begin(), got.begin() + int64_t(count)), want, 0, 0, "grads");
    REQUIRE(std::vector<float>(got.begin() + int64_t(count), got.end()) == tail);
  }
}

TEST_CASE("global-norm clipping: split sum of squares, norm, scale", "[clip]") {
  uint64_t seed = 43000;
  for (uint64_t count : {3ull, 127ull, 16385ull, 70001ull, 200003ull})
    for (double fraction : {0.5, 2.0}) {  // clipped; left alone (scale exactly 1)
      INFO("count " << count << ", max_norm = " << fraction << " x norm");
      const auto g0 = random_floats(count, seed += 10);
      ref::Tensor probe = ref::widen(g0);
      const double norm = ref::clip_norm(probe, 1e30);
      const double max_norm = fraction * norm;
      auto tail = garbage(4, seed);
      auto all = g0;
      all.insert(all.end(), tail.begin(), tail.end());
      OpRun run;
      auto gv = run.tensor("grads", count + 4), ns = run.tensor("norm_scale", 2);
      run.commit();
      run.set(gv, all);
      run.set(ns, garbage(2, seed));
      ops::record_clip_norm(run.program(), gv, count, max_norm, ns, "clip");
      run.run();
      ref::Tensor want = ref::widen(g0);
      ref::clip_norm(want, double(float(max_norm)));
      const auto got_ns = run.get(ns, 2);
      // A float sum of 2e5 squares in chunks and a tree: ~1e-6 relative.
      CHECK(got_ns[0] == Approx(norm).epsilon(1e-5));
      CHECK(got_ns[1] == Approx(std::min(1.0, double(float(max_norm)) / (norm + 1e-6))).epsilon(1e-5));
      const auto got = run.get(gv, count + 4);
      check_close(std::vector<float>(got.begin(), got.begin() + int64_t(count)), want, 1e-7, 2e-5, "grads");
      if (fraction > 1) REQUIRE(std::vector<float>(got.begin(), got.begin() + int64_t(count)) == g0);
      REQUIRE(std::vector<float>(got.begin() + int64_t(count), got.end()) == tail);
    }
}

TEST_CASE("penalty and clipping options are validated", "[penalty]") {
  ops::RegularizeConfig r;
  ops::validate_regularization(r);
  r.l1 = -1e-5;
  CHECK_THROWS_WITH(ops::validate_regularization(r), Catch::Contains("--l1 must be a number >= 0"));
  r.l1 = 0;
  r.l2 = std::nan("");
  CHECK_THROWS_WITH(ops::validate_regularization(r), Catch::Contains("--l2"));
  r.l2 = 0;
  r.clip_norm = -1;
  CHECK_THROWS_WITH(ops::validate_regularization(r), Catch::Contains("--clip-norm"));
}

}  // namespace fovea::test
