// norm: BatchNorm (training and evaluation), LayerNorm, InstanceNorm and
// GroupNorm against the double reference, forward and backward, on awkward
// shapes (1, 3, 5, 17 channels, odd H and W: scalar kernels; H*W a multiple
// of 4: vec4 kernels), batch 1, partial batches, reductions past lavapipe's
// 65,535 loop iterations, and every backward against finite differences of
// the reference forward (BatchNorm's through its batch statistics).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "gpu/harness.h"
#include "ops/norm.h"
#include "ops/op_check.h"
#include "reference/norm.h"

namespace fovea::test {
namespace {

using ref::NormKind;

struct NormCase {
  NormKind kind;
  uint32_t batch, channels, height, width;
  uint32_t rows;  // valid rows (P.rows)
  bool affine = true;
  uint32_t groups = 1;  // GroupNorm
};

ref::NormSpec spec_of(const NormCase& c) {
  ref::NormSpec s;
  s.kind = c.kind;
  s.batch = c.batch, s.channels = c.channels, s.height = c.height, s.width = c.width;
  s.groups = c.groups;
  s.rows = c.rows;
  return s;
}

std::string describe(const NormCase& c) {
  static const char* names[] = {"batchnorm", "layernorm", "instancenorm", "groupnorm"};
  std::string s = std::string(names[int(c.kind)]) + " " + std::to_string(c.batch) + "x" +
                  std::to_string(c.channels) + "x" + std::to_string(c.height) + "x" +
                  std::to_string(c.width) + ", rows " + std::to_string(c.rows);
  if (c.kind == NormKind::Group) s += ", groups " + std::to_string(c.groups);
  return s + (c.affine ? ", affine" : ", no affine");
}

// Inputs and kernel outputs of one program: the forward (BatchNorm in
// training mode) and then the backward with an independent upstream
// gradient dy, as from L = sum(y ⊙ dy).
struct NormRun {
  std::vector<float> x, dy, affine, running0;      // inputs (running: BatchNorm)
  std::vector<float> y, saved, dx, daffine, running;
  std::vector<std::string> kernels;
};

constexpr float kMomentum = 0.1f;

NormRun run_norm(const NormCase& c, uint64_t seed, float lo = -1.0f, float hi = 2.0f) {
  const ref::NormSpec rs = spec_of(c);
  const uint64_t n = uint64_t(c.batch) * c.channels * c.height * c.width;
  const uint64_t P = ref::norm_affine_size(rs), S = ref::norm_stat_groups(rs);
  NormRun r;
  r.x = random_floats(n, seed + 1, lo, hi);
  r.dy = random_floats(n, seed + 2);
  r.affine = random_floats(2 * P, seed + 3, -1.5f, 1.5f);
  r.running0 = random_floats(2ull * c.channels, seed + 4, 0.5f, 2.0f);

  OpRun run;
  auto x = run.tensor("x", n), dy = run.tensor("dy", n), y = run.tensor("y", n);
  auto dx = run.tensor("dx", n), saved = run.tensor("saved", 2 * S);
  auto affine = run.tensor("affine", 2 * P), daffine = run.tensor("daffine", 2 * P);
  auto running = run.tensor("running", 2ull * c.channels);
  run.commit();
  run.set(x, r.x);
  run.set(dy, r.dy);
  run.set(affine, r.affine);
  run.set(running, r.running0);
  run.set(y, garbage(n, seed));
  run.set(dx, garbage(n, seed + 1));
  run.set(saved, garbage(2 * S, seed + 2));
  run.set(daffine, garbage(2 * P, seed + 3));

  const ops::NormShape s{c.batch, c.channels, c.height, c.width};
  const gpu::View a = c.affine ? affine : gpu::View{}, da = c.affine ? daffine : gpu::View{};
  auto& p = run.program();
  switch (c.kind) {
    case NormKind::Batch:
      ops::record_batchnorm_forward_train(p, s, ops::kNormEps, kMomentum, x, a, y, saved, running,
                                          "bn");
      ops::record_batchnorm_backward(p, s, x, dy, a, saved, dx, da, "bn.backward");
      break;
    case NormKind::Layer:
      ops::record_layernorm_forward(p, s, ops::kNormEps, x, a, y, saved, "ln");
      ops::record_layernorm_backward(p, s, x, dy, a, saved, dx, da, "ln.backward");
      break;
    case NormKind::Instance:
      ops::record_instancenorm_forward(p, s, ops::kNormEps, x, a, y, saved, "in");
      ops::record_instancenorm_backward(p, s, x, dy, a, saved, dx, da, "in.backward");
      break;
    case NormKind::Group:
      ops::record_groupnorm_forward(p, s, c.groups, ops::kNormEps, x, a, y, saved, "gn");
      ops::record_groupnorm_backward(p, s, c.groups, x, dy, a, saved, dx, da, "gn.backward");
      break;
  }
  for (const auto& d : p.dispatches()) r.kernels.push_back(d.kernel->name);
  nn::StepParams params;
  params.rows = c.rows;
  run.run(params);
  r.y = run.get(y, n);
  r.dx = run.get(dx, n);
  r.saved = run.get(saved, 2 * S);
  if (c.affine) r.daffine = run.get(daffine, 2 * P);
  r.running = run.get(running, 2ull * c.channels);
  return r;
}

std::vector<float> row(const std::vector<float>& v, uint64_t index, uint64_t length) {
  return {v.begin() + index * length, v.begin() + (index + 1) * length};
}

// Tolerances, from float32 accumulation: values are O(1) and a group's
// values are summed in lanes of <= 256 then a tree, so the statistics are
// good to a few ulp (measured <= 5e-7 on these cases, y and dx <= 2e-6);
// the bounds below are 2-5x that, while one value lost from a 70,000-value
// group moves the mean by ~1e-5 and a lost chunk by far more. Parameter
// gradients are sums over up to rows*H*W terms (gemm_atol's rule).
constexpr double kStatTol = 1e-6, kOutAtol = 1e-5, kOutRtol = 1e-4;

// Terms in each parameter gradient's sum: the valid rows, times H*W for the
// per-channel affine parts.
uint64_t param_terms(const NormCase& c) {
  return c.kind == NormKind::Layer ? c.rows : uint64_t(c.rows) * c.height * c.width;
}

// Every output of run_norm against the reference.
void check_norm(const NormCase& c, const NormRun& r) {
  const ref::NormSpec rs = spec_of(c);
  const uint64_t P = ref::norm_affine_size(rs), S = ref::norm_stat_groups(rs);
  const auto x = ref::widen(r.x), dy = ref::widen(r.dy);
  const auto gamma = c.affine ? ref::widen(row(r.affine, 0, P)) : ref::Tensor{};
  const auto beta = c.affine ? ref::widen(row(r.affine, 1, P)) : ref::Tensor{};
  const ref::NormForward f = ref::norm_forward(rs, x, gamma, beta);
  check_close(row(r.saved, 0, S), f.mean, kStatTol, kStatTol, "saved mean");
  check_close(row(r.saved, 1, S), f.invstd, kStatTol, 10 * kStatTol, "saved invstd");
  check_close(r.y, f.y, kOutAtol, kOutRtol, "y");
  const ref::NormGrads g = ref::norm_backward(rs, x, dy, gamma);
  check_close(r.dx, g.dx, kOutAtol, kOutRtol, "dx");
  if (c.affine) {
    check_close(row(r.daffine, 0, P), g.dgamma, gemm_atol(param_terms(c)), kOutRtol, "dgamma");
    check_close(row(r.daffine, 1, P), g.dbeta, gemm_atol(param_terms(c)), kOutRtol, "dbeta");
  }
  // Padding rows: exactly 0 in y and dx, whatever x and dy hold there.
  const uint64_t per_row = uint64_t(c.channels) * c.height * c.width;
  for (uint64_t i = c.rows * per_row; i < r.y.size(); ++i) {
    REQUIRE(r.y[i] == 0.0f);
    REQUIRE(r.dx[i] == 0.0f);
  }
  if (c.kind == NormKind::Batch) {
    ref::Tensor rm = ref::widen(row(r.running0, 0, c.channels));
    ref::Tensor rv = ref::widen(row(r.running0, 1, c.channels));
    ref::batchnorm_update_running(f, kMomentum, rm, rv);
    check_close(row(r.running, 0, c.channels), rm, kStatTol, kStatTol, "running_mean");
    check_close(row(r.running, 1, c.channels), rv, kStatTol, kStatTol, "running_var");
  } else {
    check_close(r.running, ref::widen(r.running0), 0, 0, "running (untouched)");
  }
}

// dx, dgamma, dbeta against central differences of the reference
// L = sum(norm_forward(x, gamma, beta).y ⊙ dy), at up to `samples` entries.
void check_norm_finite_differences(const NormCase& c, const NormRun& r, uint64_t samples) {
  const ref::NormSpec rs = spec_of(c);
  const uint64_t P = ref::norm_affine_size(rs);
  const auto x = ref::widen(r.x), dy = ref::widen(r.dy);
  const auto gamma = c.affine ? ref::widen(row(r.affine, 0, P)) : ref::Tensor{};
  const auto beta = c.affine ? ref::widen(row(r.affine, 1, P)) : ref::Tensor{};
  auto loss = [&](const ref::Tensor& xv, const ref::Tensor& gv, const ref::Tensor& bv) {
    const ref::Tensor y = ref::norm_forward(rs, xv, gv, bv).y;
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += y[i] * dy[i];
    return s;
  };
  // L is smooth in x (third derivative O(invstd^3)), linear in gamma and beta.
  const double eps = 1e-4;
  check_finite_differences(
      r.dx, x, [&](const ref::Tensor& v) { return loss(v, gamma, beta); }, eps, samples,
      kOutAtol, 1e-3, "dx");
  if (!c.affine) return;
  check_finite_differences(
      row(r.daffine, 0, P), gamma, [&](const ref::Tensor& v) { return loss(x, v, beta); }, eps,
      samples, gemm_atol(param_terms(c)), 1e-3, "dgamma");
  check_finite_differences(
      row(r.daffine, 1, P), beta, [&](const ref::Tensor& v) { return loss(x, gamma, v); }, eps,
      samples, gemm_atol(param_terms(c)), 1e-3, "dbeta");
}

void check_case(const NormCase& c, uint64_t seed, bool finite_differences = false) {
  const NormRun r = run_norm(c, seed);
  std::string kernels;
  for (const auto& k : r.kernels) kernels += " " + k;
  INFO(describe(c) << "; kernels:" << kernels);
  // H*W a multiple of 4 takes the vec4 kernels, anything else the scalar ones.
  REQUIRE((kernels.find("_vec4") != std::string::npos) == (c.height * c.width % 4 == 0));
  check_norm(c, r);
  if (finite_differences) check_norm_finite_differences(c, r, 60);
}

}  // namespace

TEST_CASE("batchnorm training forward, backward and running update match the reference",
          "[norm][batchnorm]") {
  const NormCase cases[] = {
      {NormKind::Batch, 2, 1, 3, 5, 2},   {NormKind::Batch, 3, 3, 7, 7, 3},
      {NormKind::Batch, 5, 5, 1, 1, 5},   {NormKind::Batch, 4, 17, 5, 3, 3},
      {NormKind::Batch, 6, 5, 4, 4, 6},   {NormKind::Batch, 7, 3, 8, 6, 5},
      {NormKind::Batch, 1, 3, 3, 3, 1},   {NormKind::Batch, 9, 17, 1, 1, 6},
      {NormKind::Batch, 1, 5, 2, 2, 1},   {NormKind::Batch, 3, 17, 5, 5, 3, false},
      {NormKind::Batch, 65, 3, 1, 1, 64}, {NormKind::Batch, 2, 1, 1, 1, 2},
      // One valid value per channel: y = beta, dx = 0, running stats kept.
      {NormKind::Batch, 3, 2, 1, 1, 1},
  };
  uint64_t seed = 10;
  for (const NormCase& c : cases) check_case(c, seed += 10);
}

TEST_CASE("layer, instance and group norm match the reference on awkward shapes", "[norm]") {
  const NormCase cases[] = {
      {NormKind::Layer, 3, 5, 3, 7, 3},           {NormKind::Layer, 1, 1, 5, 3, 1},
      {NormKind::Layer, 4, 17, 4, 2, 3},          {NormKind::Layer, 2, 3, 5, 5, 2, false},
      {NormKind::Instance, 3, 5, 3, 7, 3},        {NormKind::Instance, 1, 17, 4, 4, 1},
      {NormKind::Instance, 4, 3, 5, 1, 2},        {NormKind::Instance, 2, 1, 7, 5, 2, false},
      {NormKind::Group, 3, 6, 5, 3, 3, true, 2},  {NormKind::Group, 1, 17, 3, 3, 1, true, 17},
      {NormKind::Group, 4, 15, 4, 3, 3, true, 5}, {NormKind::Group, 2, 5, 7, 7, 2, true, 1},
      {NormKind::Group, 5, 12, 2, 2, 4, false, 3},
  };
  uint64_t seed = 200;
  for (const NormCase& c : cases) check_case(c, seed += 10);
}

TEST_CASE("norm backward kernels equal finite differences of the reference forward",
          "[norm][gradient]") {
  const NormCase cases[] = {
      {NormKind::Batch, 3, 3, 5, 3, 3},          {NormKind::Batch, 7, 5, 2, 2, 5},
      {NormKind::Batch, 6, 17, 1, 1, 6},         {NormKind::Layer, 3, 5, 3, 3, 2},
      {NormKind::Layer, 2, 3, 4, 4, 2},          {NormKind::Instance, 2, 3, 5, 3, 2},
      {NormKind::Instance, 3, 5, 4, 2, 2, false}, {NormKind::Group, 3, 6, 3, 3, 3, true, 3},
      {NormKind::Group, 2, 17, 2, 2, 1, true, 17},
  };
  uint64_t seed = 400;
  for (const NormCase& c : cases) check_case(c, seed += 10, true);
}

TEST_CASE("batchnorm running statistics follow PyTorch over steps and evaluation only reads them",
          "[norm][batchnorm]") {
  // PyTorch initialises running_mean = 0, running_var = 1; each training
  // step with a different batch (and a different number of valid rows)
  // moves them by momentum 0.3 towards (mean, var n/(n-1)).
  for (auto [H, W] : {std::pair<uint32_t, uint32_t>{3, 5}, {4, 3}}) {
    const uint32_t N = 7, C = 5;
    const float momentum = 0.3f;
    const ops::NormShape s{N, C, H, W};
    const uint64_t n = uint64_t(N) * C * H * W;
    const auto affine = random_floats(2 * C, H, -1.5f, 1.5f);
    OpRun train;
    auto x = train.tensor("x", n), y = train.tensor("y", n), saved = train.tensor("saved", 2 * C);
    auto a = train.tensor("affine", 2 * C), running = train.tensor("running", 2 * C);
    train.commit();
    train.set(a, affine);
    std::vector<float> init(2 * C, 0.0f);
    std::fill(init.begin() + C, init.end(), 1.0f);
    train.set(running, init);
    ops::record_batchnorm_forward_train(train.program(), s, ops::kNormEps, momentum, x, a, y,
                                        saved, running, "bn");
    ref::Tensor rm(C, 0.0), rv(C, 1.0);
    uint64_t seed = 700 + W;
    for (uint32_t rows : {7u, 4u, 7u, 2u}) {
      INFO(H << "x" << W << ", step with rows " << rows);
      const auto xs = random_floats(n, ++seed, -2.0f, 3.0f);
      train.set(x, xs);
      nn::StepParams params;
      params.rows = rows;
      train.run(params);
      ref::NormSpec rs{NormKind::Batch, N, C, H, W, 1, rows};
      ref::batchnorm_update_running(ref::norm_forward(rs, ref::widen(xs), {}, {}), momentum, rm,
                                    rv);
      const auto got = train.get(running, 2 * C);
      check_close(row(got, 0, C), rm, kStatTol, kStatTol, "running_mean");
      check_close(row(got, 1, C), rv, kStatTol, kStatTol, "running_var");
    }
    // Evaluation: normalises with the running statistics, never writes them.
    const auto stats = train.get(running, 2 * C);
    OpRun eval;
    auto ex = eval.tensor("x", n), ey = eval.tensor("y", n), ea = eval.tensor("affine", 2 * C);
    auto er = eval.tensor("running", 2 * C);
    eval.commit();
    const auto xs = random_floats(n, 777, -2.0f, 3.0f);
    eval.set(ex, xs);
    eval.set(ey, garbage(n, 3));
    eval.set(ea, affine);
    eval.set(er, stats);
    ops::record_batchnorm_forward_eval(eval.program(), s, ops::kNormEps, ex, ea, er, ey, "bn");
    nn::StepParams params;
    params.rows = 6;
    eval.run(params);
    ref::NormSpec rs{NormKind::Batch, N, C, H, W, 1, 6};
    const auto want = ref::batchnorm_forward_eval(rs, ref::widen(xs), ref::widen(row(affine, 0, C)),
                                                  ref::widen(row(affine, 1, C)),
                                                  ref::widen(row(stats, 0, C)),
                                                  ref::widen(row(stats, 1, C)));
    check_close(eval.get(ey, n), want, kOutAtol, kOutRtol, "evaluation y (padding row 0)");
    check_close(eval.get(er, 2 * C), ref::widen(stats), 0, 0, "running after evaluation");
  }
}

// The evaluation-mode backward (the sharpness probe's): the running
// statistics are constants, so dx = gamma dy invstd; checked against the
// reference and against finite differences of the reference's evaluation
// forward, scalar (odd H*W) and vec4 (H*W % 4 == 0) kernels, batch 1 included.
TEST_CASE("batchnorm evaluation-mode backward matches the reference and finite differences",
          "[norm][batchnorm]") {
  struct Case { uint32_t N, C, H, W, rows; bool affine; };
  uint64_t seed = 900;
  for (const Case& k : {Case{5, 3, 7, 5, 4, true}, Case{3, 17, 4, 3, 3, true}, Case{1, 5, 1, 1, 1, true},
                        Case{6, 4, 3, 3, 6, false}, Case{2, 3, 8, 1, 2, true}}) {
    INFO("batchnorm eval backward " << k.N << "x" << k.C << "x" << k.H << "x" << k.W << ", rows " << k.rows
                                    << (k.affine ? ", affine" : ", no affine"));
    const uint64_t n = uint64_t(k.N) * k.C * k.H * k.W;
    const auto xs = random_floats(n, ++seed, -1.0f, 2.0f), dys = random_floats(n, ++seed);
    const auto affine = random_floats(2ull * k.C, ++seed, -1.5f, 1.5f);
    const auto running = random_floats(2ull * k.C, ++seed, 0.5f, 2.0f);
    OpRun run;
    auto x = run.tensor("x", n), dy = run.tensor("dy", n), dx = run.tensor("dx", n);
    auto a = run.tensor("affine", 2ull * k.C), da = run.tensor("daffine", 2ull * k.C);
    auto r = run.tensor("running", 2ull * k.C);
    run.commit();
    run.set(x, xs), run.set(dy, dys), run.set(a, affine), run.set(r, running);
    run.set(dx, garbage(n, seed)), run.set(da, garbage(2ull * k.C, seed));
    const gpu::View av = k.affine ? a : gpu::View{}, dav = k.affine ? da : gpu::View{};
    ops::record_batchnorm_backward_eval(run.program(), {k.N, k.C, k.H, k.W}, ops::kNormEps, x, dy, av, r, dx,
                                        dav, "bn.backward_eval");
    nn::StepParams params;
    params.rows = k.rows;
    run.run(params);
    const ref::NormSpec rs{NormKind::Batch, k.N, k.C, k.H, k.W, 1, k.rows};
    const ref::Tensor gamma = k.affine ? ref::widen(row(affine, 0, k.C)) : ref::Tensor{};
    const ref::Tensor beta = k.affine ? ref::widen(row(affine, 1, k.C)) : ref::Tensor{};
    const ref::Tensor rm = ref::widen(row(running, 0, k.C)), rv = ref::widen(row(running, 1, k.C));
    const auto want = ref::batchnorm_backward_eval(rs, ref::widen(xs), ref::widen(dys), gamma, rm, rv);
    const auto got_dx = run.get(dx, n);
    check_close(got_dx, want.dx, kOutAtol, kOutRtol, "dx");
    const double atol = gemm_atol(uint64_t(k.rows) * k.H * k.W);
    if (k.affine) {
      const auto got = run.get(da, 2ull * k.C);
      check_close(row(got, 0, k.C), want.dgamma, atol, kGemmRtol, "dgamma");
      check_close(row(got, 1, k.C), want.dbeta, atol, kGemmRtol, "dbeta");
    }
    auto L = [&](const ref::Tensor& xv) {
      return weighted_sum(ref::batchnorm_forward_eval(rs, xv, gamma, beta, rm, rv), dys);
    };
    check_finite_differences(got_dx, ref::widen(xs), L, 1e-3, 64, 1e-4, 1e-3, "dx");
    if (k.affine) {
      auto Lg = [&](const ref::Tensor& g) {
        return weighted_sum(ref::batchnorm_forward_eval(rs, ref::widen(xs), g, beta, rm, rv), dys);
      };
      check_finite_differences(row(run.get(da, 2ull * k.C), 0, k.C), gamma, Lg, 1e-3, 64, 1e-4, 1e-3,
                               "dgamma");
    }
  }
}
// The subgroup fast path of norm/reduce (taken where the device model has
// subgroup arithmetic and FOVEA_FAST is not 0) against the portable shared-
// memory tree: both match the reference, and each other to the rounding of
// a reordered 64-lane sum. On a device without subgroup arithmetic (or under
// FOVEA_LIMITS=vulkan11-min) both runs must take the portable kernel.
TEST_CASE("norm reductions with subgroup arithmetic match the portable ones", "[norm][fast]") {
  const NormCase cases[] = {
      {NormKind::Batch, 7, 3, 8, 6, 5},          {NormKind::Batch, 65, 3, 1, 1, 64},
      {NormKind::Layer, 4, 17, 4, 2, 3},         {NormKind::Instance, 3, 5, 3, 7, 3},
      {NormKind::Group, 4, 15, 4, 3, 3, true, 5}, {NormKind::Batch, 90, 2, 29, 29, 89},
  };
  gpu::Context& ctx = context();
  const bool old = ctx.portable_kernels;
  uint64_t seed = 1200;
  for (const NormCase& c : cases) {
    seed += 10;
    NormRun runs[2];
    for (int portable = 0; portable < 2; ++portable) {
      ctx.portable_kernels = portable == 1;
      runs[portable] = run_norm(c, seed);
      ctx.portable_kernels = old;
      std::string kernels;
      for (const auto& k : runs[portable].kernels) kernels += " " + k;
      INFO(describe(c) << (portable ? "; portable" : "; fast") << "; kernels:" << kernels);
      const bool subgroup = kernels.find("reduce_subgroup") != std::string::npos;
      const VkSubgroupFeatureFlags need =
          VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
      REQUIRE(subgroup == (!portable && (ctx.info().subgroup_ops & need) == need));
      check_norm(c, runs[portable]);
    }
    INFO(describe(c) << ": fast against portable");
    check_close(runs[0].y, ref::widen(runs[1].y), 1e-5, 1e-5, "y");
    check_close(runs[0].dx, ref::widen(runs[1].dx), 1e-5, 1e-5, "dx");
    check_close(runs[0].daffine, ref::widen(runs[1].daffine), 1e-4, 1e-5, "daffine");
  }
}

// lavapipe stops a loop silently after 65,535 iterations: these groups hold
// more values than that (in the kernels' units: scalars for odd H*W, vec4s
// where H*W is a multiple of 4), so only split reductions get them right.
TEST_CASE("batchnorm statistics and gradients over more than 70000 values per channel",
          "[norm][batchnorm][loop-budget]") {
  // 89 valid rows of 90 x 29 x 29: 74,849 scalars per channel.
  const NormCase scalar{NormKind::Batch, 90, 2, 29, 29, 89};
  // 300 x 28 x 32 = 268,800 values, 67,200 vec4 units per channel.
  const NormCase vec4{NormKind::Batch, 300, 1, 28, 32, 300};
  for (const NormCase& c : {scalar, vec4}) {
    const NormRun r = run_norm(c, 900 + c.batch);
    INFO(describe(c));
    check_norm(c, r);
    check_norm_finite_differences(c, r, 8);
  }
}

TEST_CASE("batchnorm over more than 64 x 65535 values in one channel", "[norm][batchnorm][loop-budget]") {
  // 64 x 257 x 257 = 4,227,136 scalars: more than 64 lanes can sum inside
  // the budget, so this needs the chunked reduction itself.
  const NormCase c{NormKind::Batch, 64, 1, 257, 257, 63};
  const NormRun r = run_norm(c, 990);
  INFO(describe(c));
  check_norm(c, r);
}

TEST_CASE("layer, instance and group norm over more than 70000 values per group",
          "[norm][loop-budget]") {
  const NormCase cases[] = {
      {NormKind::Layer, 2, 3, 155, 155, 2},            // 72,075 scalars per sample
      {NormKind::Instance, 1, 2, 265, 267, 1},         // 70,755 scalars per plane
      {NormKind::Group, 2, 6, 296, 296, 2, true, 2},   // 65,712 vec4 units per group
  };
  uint64_t seed = 950;
  for (const NormCase& c : cases) {
    const NormRun r = run_norm(c, seed += 10);
    INFO(describe(c));
    check_norm(c, r);
    check_norm_finite_differences(c, r, 6);
  }
}

TEST_CASE("norm ops reject shapes PyTorch rejects", "[norm][errors]") {
  OpRun run;
  auto v = run.tensor("v", 64), w = run.tensor("w", 64), st = run.tensor("st", 64);
  run.commit();
  auto& p = run.program();
  // One value per channel: PyTorch's "Expected more than 1 value per
  // channel when training"; evaluation is fine.
  const ops::NormShape one{1, 3, 1, 1};
  CHECK_THROWS_WITH(ops::record_batchnorm_forward_train(p, one, 1e-5f, 0.1f, v, w, v, st, st,
                                                        "bn1"),
                    Catch::Contains("bn1: expected more than 1 value per channel when training"));
  CHECK_THROWS_WITH(ops::record_batchnorm_backward(p, one, v, v, w, st, v, w, "bn1.backward"),
                    Catch::Contains("expected more than 1 value per channel"));
  CHECK_NOTHROW(ops::record_batchnorm_forward_eval(p, one, 1e-5f, v, w, st, v, "bn1.eval"));
  CHECK_THROWS_WITH(ops::record_groupnorm_forward(p, {2, 5, 2, 2}, 2, 1e-5f, v, w, v, st, "gn"),
                    Catch::Contains("gn: 5 channels do not split into 2 groups"));
  CHECK_THROWS_WITH(ops::record_instancenorm_forward(p, {2, 3, 1, 1}, 1e-5f, v, w, v, st, "in"),
                    Catch::Contains("in: expected more than 1 spatial element"));
  CHECK_THROWS_WITH(
      ops::record_layernorm_backward(p, {2, 3, 2, 2}, v, v, w, st, v, gpu::View{}, "ln"),
      Catch::Contains("daffine must be given exactly when affine is"));
  CHECK_THROWS_WITH(ops::record_layernorm_forward(p, {2, 3, 4, 4}, 1e-5f, v, w, v, st, "ln"),
                    Catch::Contains("view v holds 64 values, needs 96"));
  // The per-sample norms' parameter gradients sum over the batch in one loop.
  OpRun big;
  auto b = big.tensor("b", 40000);
  big.commit();
  CHECK_THROWS_WITH(ops::record_layernorm_backward(big.program(), {16385, 1, 1, 1}, b, b, b, b, b,
                                                   b, "ln"),
                    Catch::Contains("ln: batch 16385 is above 16384"));
}

}  // namespace fovea::test
