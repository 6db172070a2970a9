// Synchronised BatchNorm's kernels (ops/norm.h, --sync-bn): two shards of a
// batch, as two ranks hold them, each recorded for the same batch with its
// own valid rows, their norm/reduce partials summed on the host
// (dist/sync_bn.h) between the programs, give the whole batch's forward,
// running statistics and input gradient (against the double reference), and
// parameter gradients that add up to the whole batch's. Awkward shapes
// (scalar and vec4 kernels, BatchNorm1d), a shard with no valid rows, and
// data far from 0 (the shifted sums).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "dist/sync_bn.h"
#include "gpu/harness.h"
#include "ops/norm.h"
#include "ops/op_check.h"
#include "reference/norm.h"

namespace fovea::test {
namespace {

struct SyncCase {
  uint32_t batch, channels, height, width;  // batch: each shard's recorded rows
  uint32_t rows[2];                         // valid rows of each shard
  float lo = -1.0f, hi = 2.0f;              // x's range
};

struct Shard {
  std::vector<float> x, dy;                 // [batch, C, H, W]
  std::vector<float> y, saved, running, dx, daffine;
};

constexpr float kMomentum = 0.1f;

// The three programs of one shard's step, with the host's exchanges between.
void run_sync(const SyncCase& c, std::vector<Shard>& shards, const std::vector<float>& affine,
              const std::vector<float>& running0) {
  const ops::NormShape s{c.batch, c.channels, c.height, c.width};
  const uint64_t n = uint64_t(c.batch) * c.channels * c.height * c.width, C = c.channels;
  const uint64_t floats = ops::batchnorm_sync_floats(s);
  const double plane = double(c.height) * c.width, total = double(c.rows[0] + c.rows[1]) * plane;
  nn::StepParams params;
  params.loss_rows = c.rows[0] + c.rows[1];
  // Sums over the shards of their partials (as the all-reduce adds them).
  auto add_up = [&](const std::vector<std::vector<float>>& parts, uint32_t K, bool backward,
                    const std::vector<float>& shift) {
    std::vector<double> sums(2 * C, 0.0), mine(2 * C);
    for (int k = 0; k < 2; ++k) {
      if (backward)
        dist::batchnorm_backward_sums(parts[k].data(), c.channels, K, c.rows[k] * plane, shift.data(), mine.data());
      else
        dist::batchnorm_forward_sums(parts[k].data(), c.channels, K, c.rows[k] * plane, mine.data());
      for (size_t i = 0; i < sums.size(); ++i) sums[i] += mine[i];
    }
    return sums;
  };

  // 1. The forward partials.
  std::vector<std::vector<float>> parts(2);
  uint32_t K = 0;
  for (int k = 0; k < 2; ++k) {
    OpRun run;
    auto x = run.tensor("x", n), part = run.tensor("partials", floats);
    run.commit();
    run.set(x, shards[k].x);
    K = ops::record_batchnorm_partials(run.program(), s, false, x, x, part, "bn");
    params.rows = c.rows[k];
    run.run(params);
    parts[k] = run.get(part, 3 * C * K);
  }
  std::vector<float> summed(3 * C), shift(C);
  dist::batchnorm_forward_summed(add_up(parts, K, false, shift).data(), c.channels, total, summed.data(), shift.data());

  // 2. Forward from the sums, then the backward partials.
  for (int k = 0; k < 2; ++k) {
    OpRun run;
    auto x = run.tensor("x", n), dy = run.tensor("dy", n), y = run.tensor("y", n);
    auto a = run.tensor("affine", 2 * C), saved = run.tensor("saved", 2 * C), rs = run.tensor("running", 2 * C);
    auto sum = run.tensor("summed", floats), part = run.tensor("partials", floats);
    run.commit();
    run.set(x, shards[k].x), run.set(dy, shards[k].dy), run.set(a, affine), run.set(rs, running0);
    run.set(sum, summed), run.set(y, garbage(n, 5)), run.set(saved, garbage(2 * C, 6));
    ops::record_batchnorm_forward_synced(run.program(), s, ops::kNormEps, kMomentum, x, a, y, saved, rs, sum, "bn");
    K = ops::record_batchnorm_partials(run.program(), s, true, x, dy, part, "bn.backward");
    params.rows = c.rows[k];
    run.run(params);
    shards[k].y = run.get(y, n), shards[k].saved = run.get(saved, 2 * C), shards[k].running = run.get(rs, 2 * C);
    parts[k] = run.get(part, 3 * C * K);
  }
  const std::vector<double> bsums = add_up(parts, K, true, shift);

  // 3. The backward from the sums (and each shard's own partials).
  for (int k = 0; k < 2; ++k) {
    std::vector<float> bsummed(3 * C * (1 + K));
    for (uint64_t ch = 0; ch < C; ++ch)
      bsummed[3 * ch] = float(bsums[2 * ch]), bsummed[3 * ch + 1] = float(bsums[2 * ch + 1]), bsummed[3 * ch + 2] = shift[ch];
    std::copy(parts[k].begin(), parts[k].end(), bsummed.begin() + 3 * C);
    OpRun run;
    auto x = run.tensor("x", n), dy = run.tensor("dy", n), dx = run.tensor("dx", n);
    auto a = run.tensor("affine", 2 * C), da = run.tensor("daffine", 2 * C), saved = run.tensor("saved", 2 * C);
    auto sum = run.tensor("summed", floats);
    run.commit();
    run.set(x, shards[k].x), run.set(dy, shards[k].dy), run.set(a, affine), run.set(saved, shards[k].saved);
    run.set(sum, bsummed), run.set(dx, garbage(n, 7)), run.set(da, garbage(2 * C, 8));
    ops::record_batchnorm_backward_synced(run.program(), s, x, dy, a, saved, dx, da, sum, K, "bn.backward");
    params.rows = c.rows[k];
    run.run(params);
    shards[k].dx = run.get(dx, n), shards[k].daffine = run.get(da, 2 * C);
  }
}

}  // namespace

TEST_CASE("synced batchnorm over two shards equals the whole batch", "[norm][batchnorm][sync]") {
  const SyncCase cases[] = {
      {4, 3, 5, 3, {4, 2}},          {3, 5, 4, 4, {3, 3}},        {6, 17, 1, 1, {6, 5}},
      {5, 2, 3, 3, {5, 0}},          {4, 3, 5, 3, {3, 4}, 30.0f, 30.5f},
  };
  uint64_t seed = 300;
  for (const SyncCase& c : cases) {
    INFO(c.batch << "x" << c.channels << "x" << c.height << "x" << c.width << ", rows " << c.rows[0] << " + "
                  << c.rows[1] << ", x in [" << c.lo << ", " << c.hi << ")");
    const uint64_t per_row = uint64_t(c.channels) * c.height * c.width, n = c.batch * per_row;
    std::vector<Shard> shards(2);
    for (auto& sh : shards) sh.x = random_floats(n, ++seed, c.lo, c.hi), sh.dy = random_floats(n, ++seed);
    const auto affine = random_floats(2ull * c.channels, ++seed, -1.5f, 1.5f);
    const auto running0 = random_floats(2ull * c.channels, ++seed, 0.5f, 2.0f);
    run_sync(c, shards, affine, running0);

    // The whole batch: both shards' valid rows, in order.
    ref::NormSpec rs;
    rs.kind = ref::NormKind::Batch;
    rs.batch = rs.rows = c.rows[0] + c.rows[1];
    rs.channels = c.channels, rs.height = c.height, rs.width = c.width;
    std::vector<float> x, dy;
    for (const auto& sh : shards) {
      const uint64_t k = &sh - shards.data();
      x.insert(x.end(), sh.x.begin(), sh.x.begin() + c.rows[k] * per_row);
      dy.insert(dy.end(), sh.dy.begin(), sh.dy.begin() + c.rows[k] * per_row);
    }
    auto part = [](const std::vector<float>& v, uint64_t from, uint64_t to) {
      return std::vector<float>(v.begin() + from, v.begin() + to);
    };
    const auto gamma = ref::widen(part(affine, 0, c.channels)), beta = ref::widen(part(affine, c.channels, 2 * c.channels));
    const ref::NormForward f = ref::norm_forward(rs, ref::widen(x), gamma, beta);
    const ref::NormGrads g = ref::norm_backward(rs, ref::widen(x), ref::widen(dy), gamma);
    ref::Tensor rm = ref::widen(part(running0, 0, c.channels)), rv = ref::widen(part(running0, c.channels, 2 * c.channels));
    ref::batchnorm_update_running(f, kMomentum, rm, rv);
    const double mean_tol = 1e-6 * std::max(1.0f, std::abs(c.hi));  // mean's rounding scales with |x|
    std::vector<float> y, dx, dgamma(c.channels, 0.0f), dbeta(c.channels, 0.0f);
    for (const auto& sh : shards) {
      const uint64_t k = &sh - shards.data();
      check_close(part(sh.saved, 0, c.channels), f.mean, mean_tol, 1e-6, "saved mean");
      check_close(part(sh.saved, c.channels, 2 * c.channels), f.invstd, 1e-5, 1e-5, "saved invstd");
      check_close(part(sh.running, 0, c.channels), rm, mean_tol, 1e-6, "running_mean");
      check_close(part(sh.running, c.channels, 2 * c.channels), rv, 1e-5, 1e-5, "running_var");
      y.insert(y.end(), sh.y.begin(), sh.y.begin() + c.rows[k] * per_row);
      dx.insert(dx.end(), sh.dx.begin(), sh.dx.begin() + c.rows[k] * per_row);
      for (uint64_t i = c.rows[k] * per_row; i < n; ++i) REQUIRE((sh.y[i] == 0.0f && sh.dx[i] == 0.0f));
      for (uint32_t ch = 0; ch < c.channels; ++ch) dgamma[ch] += sh.daffine[ch], dbeta[ch] += sh.daffine[c.channels + ch];
    }
    // y and dx carry x - mean's rounding (half an ulp of |x|, a few times
    // over) times invstd (~ sqrt(12) / (hi - lo)) and |gamma| <= 1.5.
    const double out_atol = 1e-5 + 4 * 6e-8 * std::abs(c.hi) * 3.5 / (c.hi - c.lo) * 1.5;
    check_close(y, f.y, out_atol, 1e-4, "y");
    check_close(dx, g.dx, out_atol, 1e-4, "dx");
    const double atol = gemm_atol(uint64_t(rs.rows) * c.height * c.width);
    check_close(dgamma, g.dgamma, atol, 1e-4, "dgamma (the shards' shares added)");
    check_close(dbeta, g.dbeta, atol, 1e-4, "dbeta (the shards' shares added)");
  }
}

}  // namespace fovea::test
