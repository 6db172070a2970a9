// metrics: the per-batch [loss, correct] rows added on the GPU into the
// epoch's running sums, against the reference, over consecutive runs of one
// recorded program with different valid-row counts.
#include <catch2/catch.hpp>

#include <cstring>

#include "data/split.h"
#include "gpu/harness.h"
#include "ops/metrics.h"
#include "ops/op_check.h"
#include "reference/metrics.h"

namespace fovea::test {
namespace {

// stats [batch, 2]: valid rows get a loss in (0, 5) and correct 0 or 1;
// padding rows get values no valid row has (loss 1000, correct 1), so a
// kernel that sums them is caught.
std::vector<float> random_stats(uint32_t batch, uint32_t rows, uint64_t seed) {
  const auto loss = random_floats(batch, seed, 0.0f, 5.0f);
  data::Rng rng(seed);
  std::vector<float> s(2ull * batch);
  for (uint32_t b = 0; b < batch; ++b) {
    s[2 * b] = b < rows ? loss[b] : 1000.0f;
    s[2 * b + 1] = b < rows ? float(rng.below(2)) : 1.0f;
  }
  return s;
}

std::vector<uint32_t> words_of(const ops::MetricSums& m) {
  std::vector<uint32_t> w(4);
  std::memcpy(w.data(), &m, sizeof m);
  return w;
}

ops::MetricSums sums_of(const std::vector<float>& v) {
  ops::MetricSums m;
  std::memcpy(&m, v.data(), sizeof m);
  return m;
}

// Runs one recorded metric-sums program once per entry of `rows` (a fresh
// stats batch each time), starting from a non-zero accumulator, and checks
// the running sums against the reference after every run.
void check_running_sums(uint32_t batch, const std::vector<uint32_t>& rows, uint64_t seed) {
  OpRun run;
  auto stats = run.tensor("stats", 2ull * batch), acc = run.tensor("acc", 4);
  run.commit();
  const ops::MetricSums start{2.5f, 0.0f, 7, 11};  // as if earlier batches ran
  run.set_u32(acc, words_of(start));
  ops::record_metric_sums(run.program(), batch, stats, acc, "metrics");

  ref::Sums want{start.loss_sum, start.correct, start.count};
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto s = random_stats(batch, rows[i], seed + i);
    run.set(stats, s);
    nn::StepParams params;
    params.rows = rows[i];
    run.run(params);
    ref::add_metric_sums(batch, rows[i], ref::widen(s), want);

    const ops::MetricSums got = sums_of(run.get(acc, 4));
    INFO("batch " << batch << ", run " << i << " with rows " << rows[i]);
    // The kernel keeps loss_sum - loss_compensation as its running value.
    const double loss = double(got.loss_sum) - double(got.loss_compensation);
    CHECK(std::fabs(loss - want.loss) <= 1e-4 + 1e-6 * want.loss);
    CHECK(got.correct == want.correct);
    CHECK(got.count == want.count);
  }
}

}  // namespace

TEST_CASE("metric sums accumulate two batches and skip padding rows", "[metrics]") {
  // 257 of 300 rows, then all 300: strided lanes, a partial last lane round
  // and padding rows in the first run.
  check_running_sums(300, {257, 300}, 1);
}

TEST_CASE("metric sums over batches smaller than the 64-lane workgroup", "[metrics]") {
  check_running_sums(5, {1, 5, 3}, 2);
  check_running_sums(1, {1, 1}, 3);
}

TEST_CASE("metric sums of a batch of 1000 rows over four runs", "[metrics]") {
  check_running_sums(1000, {1000, 999, 65, 1000}, 4);
}

TEST_CASE("metric sums with no valid rows leave the sums unchanged", "[metrics]") {
  check_running_sums(17, {0, 17}, 5);
}

}  // namespace fovea::test
