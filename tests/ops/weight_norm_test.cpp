// weight_norm: weight standardization and spectral normalisation against the
// double reference on awkward shapes (rows 1, 3, 17; cols 1, 5, 27, 300; vec4
// rows), rows longer than one 16,384-unit chunk (both paths) and more than
// 65,535 rows, several training steps of the power iteration, evaluation
// mode leaving u and v alone, and both backwards against finite differences
// of the reference forward.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "gpu/harness.h"
#include "ops/op_check.h"
#include "ops/weight_norm.h"
#include "reference/weight_norm.h"

namespace fovea::test {
namespace {

// ---- weight standardization ----------------------------------------------

struct WsResult {
  std::vector<float> w, g;              // inputs: W and dL/dW_hat
  std::vector<float> w_hat, saved, dw;  // kernel outputs
  size_t dispatches = 0;
};

// One program: forward, then the backward reading its w_hat and saved.
WsResult run_ws(uint32_t rows, uint32_t cols, float eps, uint64_t seed, float lo = -1.0f,
                float hi = 1.0f) {
  const uint64_t n = uint64_t(rows) * cols;
  WsResult r;
  r.w = random_floats(n, seed, lo, hi);
  r.g = random_floats(n, seed + 1);
  OpRun run;
  auto w = run.tensor("w", n), w_hat = run.tensor("w_hat", n),
       saved = run.tensor("saved", 2ull * rows);
  auto g = run.tensor("dw_hat", n), dw = run.tensor("dw", n);
  run.commit();
  run.set(w, r.w);
  run.set(g, r.g);
  run.set(w_hat, garbage(n, seed));
  run.set(saved, garbage(2ull * rows, seed + 2));
  run.set(dw, garbage(n, seed + 3));
  ops::record_weight_standardize_forward(run.program(), rows, cols, eps, w, w_hat, saved, "ws");
  ops::record_weight_standardize_backward(run.program(), rows, cols, w_hat, saved, g, dw,
                                          "ws.backward");
  r.dispatches = run.program().dispatches().size();
  run.run();
  r.w_hat = run.get(w_hat, n);
  r.saved = run.get(saved, 2ull * rows);
  r.dw = run.get(dw, n);
  return r;
}

// w_hat is O(1); a float mean of values of magnitude |w| is good to ~1e-7 |w|,
// so values far from 0 (lo, hi large) get w_atol scaled by the caller.
void check_ws(uint32_t rows, uint32_t cols, uint64_t seed, float lo = -1.0f, float hi = 1.0f,
              double w_atol = 4e-6) {
  INFO("rows " << rows << ", cols " << cols << ", values in [" << lo << ", " << hi << ")");
  const WsResult r = run_ws(rows, cols, ops::kWeightStandardizeEps, seed, lo, hi);
  const auto want =
      ref::weight_standardize(rows, cols, ops::kWeightStandardizeEps, ref::widen(r.w));
  check_close(r.w_hat, want.w_hat, w_atol, 1e-5, "w_hat");
  check_close(r.saved, want.saved, 1e-6, 2e-5, "saved mean, invstd");
  const auto dw =
      ref::weight_standardize_backward(rows, cols, want.w_hat, want.saved, ref::widen(r.g));
  check_close(r.dw, dw, 1e-5, 1e-4, "dw");
}

TEST_CASE("weight standardization matches the reference on awkward shapes", "[weight_norm]") {
  uint64_t seed = 10;
  for (uint32_t rows : {1u, 3u, 17u})
    for (uint32_t cols : {1u, 5u, 27u, 300u, 4u, 64u, 4608u}) check_ws(rows, cols, ++seed);
  // A row of one value has var 0: W_hat = 0, invstd = 1/sqrt(eps), dW = 0.
  const WsResult one = run_ws(5, 1, ops::kWeightStandardizeEps, 30);
  for (uint32_t o = 0; o < 5; ++o) {
    CHECK(one.w_hat[o] == 0.0f);
    CHECK(one.dw[o] == 0.0f);
  }
}

TEST_CASE("weight standardization keeps its precision for rows far from zero mean",
          "[weight_norm]") {
  // mean ~100.5, std ~0.29: sums of w^2 would cancel 5 of float's 7 digits.
  // Float resolution at 100 is 7.6e-6, times invstd ~3.5: w_hat to ~3e-5.
  check_ws(7, 300, 40, 100.0f, 101.0f, 4e-5);
  check_ws(3, 16389, 41, 100.0f, 101.0f, 4e-5);
}

TEST_CASE("weight standardization splits rows past 16384 units", "[weight_norm][loop-budget]") {
  // cols 16389: scalar units, 2 chunks; cols 70000: 17500 vec4 units, 2
  // chunks; cols 70001: 5 scalar chunks. Each takes reduce, finalize, apply
  // in both directions (6 dispatches) instead of one fused dispatch each.
  struct Case {
    uint32_t rows, cols;
  };
  uint64_t seed = 50;
  for (Case c : {Case{3, 16389}, Case{2, 70000}, Case{1, 70001}}) {
    check_ws(c.rows, c.cols, ++seed);
    CHECK(run_ws(c.rows, c.cols, 1e-5f, seed).dispatches == 6);
  }
  CHECK(run_ws(3, 16384, 1e-5f, 60).dispatches == 2);
}

TEST_CASE("weight standardization runs more than 65535 rows", "[weight_norm]") {
  check_ws(70001, 5, 70);  // rows continue in the z dimension of the dispatch
}

TEST_CASE("weight standardization is deterministic and honours eps", "[weight_norm]") {
  const WsResult a = run_ws(17, 300, 1e-3f, 80), b = run_ws(17, 300, 1e-3f, 80);
  check_close(a.w_hat, ref::widen(b.w_hat), 0, 0, "w_hat, second run");
  check_close(a.dw, ref::widen(b.dw), 0, 0, "dw, second run");
  const auto want = ref::weight_standardize(17, 300, 1e-3, ref::widen(a.w));
  check_close(a.w_hat, want.w_hat, 4e-6, 1e-5, "w_hat, eps 1e-3");
}

TEST_CASE("weight standardization backward equals finite differences", "[weight_norm][gradient]") {
  struct Case {
    uint32_t rows, cols;
  };
  uint64_t seed = 90;
  for (Case c : {Case{3, 27}, Case{17, 5}, Case{1, 300}, Case{4, 64}, Case{2, 16389}}) {
    INFO("rows " << c.rows << ", cols " << c.cols);
    const WsResult r = run_ws(c.rows, c.cols, ops::kWeightStandardizeEps, ++seed);
    const ref::Tensor g = ref::widen(r.g);
    auto loss = [&](const ref::Tensor& w) {
      const auto f = ref::weight_standardize(c.rows, c.cols, ops::kWeightStandardizeEps, w);
      double L = 0;
      for (size_t e = 0; e < g.size(); ++e) L += g[e] * f.w_hat[e];
      return L;
    };
    check_finite_differences(r.dw, ref::widen(r.w), loss, 1e-5, 150, 2e-5, 1e-4, "dw");
  }
}

TEST_CASE("weight standardization rejects bad shapes and eps", "[weight_norm]") {
  OpRun run;
  auto w = run.tensor("w", 30), wh = run.tensor("wh", 30), s = run.tensor("s", 6);
  run.commit();
  auto& p = run.program();
  CHECK_THROWS_WITH(ops::record_weight_standardize_forward(p, 3, 10, 0.0f, w, wh, s, "ws"),
                    Catch::Contains("eps must be positive"));
  CHECK_THROWS_WITH(ops::record_weight_standardize_forward(p, 0, 10, 1e-5f, w, wh, s, "ws"),
                    Catch::Contains("empty weight"));
  CHECK_THROWS_WITH(ops::record_weight_standardize_forward(p, 4, 10, 1e-5f, w, wh, s, "ws"),
                    Catch::Contains("ws (w)"));
}

// ---- spectral normalisation ----------------------------------------------

std::vector<float> unit_vector(uint32_t n, uint64_t seed) {
  std::vector<float> x = random_floats(n, seed);
  double s = 0;
  for (float e : x) s += double(e) * e;
  for (float& e : x) e = float(e / std::sqrt(s));
  return x;
}

// A spectral-norm program on one weight, run step by step (W may change
// between steps, as an optimizer would change it).
class SpectralRun {
 public:
  SpectralRun(uint32_t rows, uint32_t cols, uint32_t iterations, bool training, uint64_t seed)
      : rows_(rows), cols_(cols), n_(uint64_t(rows) * cols) {
    const uint64_t state = ops::spectral_state_floats(rows, cols);
    w_ = run_.tensor("w", n_);
    uv_ = run_.tensor("uv", state);
    w_sn_ = run_.tensor("w_sn", n_);
    sigma_ = run_.tensor("sigma", 1);
    dw_sn_ = run_.tensor("dw_sn", n_);
    dw_ = run_.tensor("dw", n_);
    run_.commit();
    // The gap between u and v holds garbage the kernels must not touch.
    uv0_ = garbage(state, seed);
    u0_ = unit_vector(rows, seed + 1);
    v0_ = unit_vector(cols, seed + 2);
    std::copy(u0_.begin(), u0_.end(), uv0_.begin());
    std::copy(v0_.begin(), v0_.end(), uv0_.begin() + ops::spectral_v_offset(rows));
    run_.set(uv_, uv0_);
    run_.set(w_sn_, garbage(n_, seed + 3));
    run_.set(sigma_, garbage(1, seed + 4));
    run_.set(dw_, garbage(n_, seed + 5));
    ops::record_spectral_norm_forward(run_.program(), rows, cols, iterations, training, w_, uv_,
                                      w_sn_, sigma_, "sn");
    ops::record_spectral_norm_backward(run_.program(), rows, cols, w_, uv_, sigma_, dw_sn_, dw_,
                                       "sn.backward");
  }
  // One step with weight w and upstream gradient g.
  void step(const std::vector<float>& w, const std::vector<float>& g) {
    run_.set(w_, w);
    run_.set(dw_sn_, g);
    run_.run();
    uv = run_.get(uv_, ops::spectral_state_floats(rows_, cols_));
    u.assign(uv.begin(), uv.begin() + rows_);
    v.assign(uv.begin() + ops::spectral_v_offset(rows_), uv.end());
    sigma = run_.get(sigma_, 1)[0];
    w_sn = run_.get(w_sn_, n_);
    dw = run_.get(dw_, n_);
  }
  const std::vector<float>& u0() const { return u0_; }
  const std::vector<float>& v0() const { return v0_; }
  const std::vector<float>& uv0() const { return uv0_; }

  std::vector<float> uv, u, v, w_sn, dw;
  float sigma = 0;

 private:
  uint32_t rows_, cols_;
  uint64_t n_;
  OpRun run_;
  gpu::View w_, uv_, w_sn_, sigma_, dw_sn_, dw_;
  std::vector<float> uv0_, u0_, v0_;
};

double max_abs(const ref::Tensor& x) {
  double m = 0;
  for (double e : x) m = std::max(m, std::fabs(e));
  return m;
}

// Entries of u, v, W_sn and dW scale with 1/sqrt(length) or 1/sigma, so
// absolute tolerances are relative to each tensor's largest entry: float
// rounding stays far below 1e-5 of it, a wrong or missing term does not.
void check_spectral_step(const SpectralRun& r, const ref::SpectralNorm& want, uint32_t rows,
                         const std::vector<float>& uv0) {
  check_close(r.u, want.u, 1e-5 * max_abs(want.u), 1e-4, "u");
  check_close(r.v, want.v, 1e-5 * max_abs(want.v), 1e-4, "v");
  check_close({r.sigma}, {want.sigma}, 0, 2e-5, "sigma");
  check_close(r.w_sn, want.w_sn, 1e-6 * max_abs(want.w_sn), 4e-5, "w_sn");
  for (uint32_t i = rows; i < ops::spectral_v_offset(rows); ++i) CHECK(r.uv[i] == uv0[i]);
}

void check_spectral_training(uint32_t rows, uint32_t cols, uint32_t iterations, uint32_t steps,
                             uint64_t seed) {
  INFO("rows " << rows << ", cols " << cols << ", power iterations " << iterations);
  SpectralRun r(rows, cols, iterations, true, seed);
  ref::Tensor u = ref::widen(r.u0()), v = ref::widen(r.v0());
  for (uint32_t s = 0; s < steps; ++s) {
    INFO("step " << s);
    const auto w = random_floats(uint64_t(rows) * cols, seed + 10 + s);
    r.step(w, random_floats(uint64_t(rows) * cols, seed + 20 + s));
    const auto want = ref::spectral_norm(rows, cols, iterations, true, ref::widen(w), u, v);
    check_spectral_step(r, want, rows, r.uv0());
    u = want.u;
    v = want.v;
  }
}

TEST_CASE("spectral norm training steps follow the reference power iteration", "[weight_norm]") {
  struct Case {
    uint32_t rows, cols, iterations;
  };
  uint64_t seed = 100;
  for (Case c : {Case{1, 1, 1}, Case{1, 5, 1}, Case{3, 27, 1}, Case{17, 300, 1}, Case{17, 5, 2},
                 Case{3, 1, 1}, Case{5, 64, 3}, Case{64, 27, 1}, Case{10, 512, 2}})
    check_spectral_training(c.rows, c.cols, c.iterations, 3, seed += 30);
}

TEST_CASE("spectral norm splits reductions past 16384 rows or units",
          "[weight_norm][loop-budget]") {
  // cols 70001: 5 scalar chunks per row in W t; cols 70000: 2 vec4 chunks;
  // rows 70000: W^T u in 5 slices of rows, and rows past 65,535 in z.
  check_spectral_training(3, 70001, 2, 2, 200);
  check_spectral_training(2, 70000, 1, 1, 210);
  check_spectral_training(70000, 3, 2, 1, 220);
}

TEST_CASE("spectral norm in evaluation mode uses and keeps the stored u and v", "[weight_norm]") {
  struct Case {
    uint32_t rows, cols;
  };
  uint64_t seed = 300;
  for (Case c : {Case{3, 27}, Case{17, 5}, Case{1, 300}, Case{5, 64}, Case{2, 70001}}) {
    INFO("rows " << c.rows << ", cols " << c.cols);
    seed += 10;
    SpectralRun r(c.rows, c.cols, 1, false, seed);
    const auto w = random_floats(uint64_t(c.rows) * c.cols, seed + 5);
    r.step(w, random_floats(w.size(), seed + 6));
    check_close(r.uv, ref::widen(r.uv0()), 0, 0, "uv untouched");
    const auto want = ref::spectral_norm(c.rows, c.cols, 1, false, ref::widen(w),
                                         ref::widen(r.u0()), ref::widen(r.v0()));
    check_spectral_step(r, want, c.rows, r.uv0());
  }
}

TEST_CASE("spectral norm backward matches the reference and finite differences",
          "[weight_norm][gradient]") {
  struct Case {
    uint32_t rows, cols;
    bool training;
  };
  uint64_t seed = 400;
  for (Case c : {Case{3, 27, true}, Case{17, 5, true}, Case{1, 300, false}, Case{5, 64, true},
                 Case{3, 70001, true}, Case{2, 70000, false}}) {
    INFO("rows " << c.rows << ", cols " << c.cols << ", training " << c.training);
    seed += 10;
    SpectralRun r(c.rows, c.cols, 2, c.training, seed);
    const uint64_t n = uint64_t(c.rows) * c.cols;
    const auto w = random_floats(n, seed + 5);
    const auto g = random_floats(n, seed + 6);
    r.step(w, g);
    // u, v are constants of the backward: the ones this step's forward left.
    const ref::Tensor u = ref::widen(r.u), v = ref::widen(r.v);
    const auto want =
        ref::spectral_norm_backward(c.rows, c.cols, ref::widen(w), u, v, r.sigma, ref::widen(g));
    const double atol = 1e-5 * max_abs(want);
    check_close(r.dw, want, atol, 1e-4, "dw");
    auto loss = [&](const ref::Tensor& wp) {
      const auto f = ref::spectral_norm(c.rows, c.cols, 0, false, wp, u, v);
      double L = 0;
      for (uint64_t e = 0; e < n; ++e) L += g[e] * f.w_sn[e];
      return L;
    };
    check_finite_differences(r.dw, ref::widen(w), loss, 1e-5, 100, atol, 1e-4, "dw");
  }
}

TEST_CASE("spectral norm rejects zero power iterations and oversized weights", "[weight_norm]") {
  OpRun run;
  auto w = run.tensor("w", 30), uv = run.tensor("uv", 14), wsn = run.tensor("wsn", 30);
  auto sigma = run.tensor("sigma", 1);
  run.commit();
  auto& p = run.program();
  CHECK_THROWS_WITH(ops::record_spectral_norm_forward(p, 3, 10, 0, true, w, uv, wsn, sigma, "sn"),
                    Catch::Contains("at least one power iteration"));
  CHECK_THROWS_WITH(ops::record_spectral_norm_forward(p, 1, ops::kSpectralMaxLength, 1, true, w, uv,
                                                      wsn, sigma, "sn"),
                    Catch::Contains("rows + cols"));
  CHECK_THROWS_WITH(ops::record_spectral_norm_forward(p, 5, 10, 1, true, w, uv, wsn, sigma, "sn"),
                    Catch::Contains("sn (w)"));
  // u [1], gap, v [11] at float 4: 15 floats, one more than uv holds.
  CHECK_THROWS_WITH(ops::record_spectral_norm_forward(p, 1, 11, 1, true, w, uv, wsn, sigma, "sn"),
                    Catch::Contains("sn (uv)"));
}

}  // namespace
}  // namespace fovea::test
