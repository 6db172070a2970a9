// loss: the class-weighted softmax cross-entropy (CrossEntropyLoss(weight=w)
// with mean reduction, label smoothing and mixing as torch defines them)
// against the double reference and finite differences of the batch's
// weighted mean loss; weights of 1 against the unweighted kernel; a batch
// whose classes all weigh 0; the class limit and a batch past the loop
// budget. tests/cli/ops_torch_test.py compares the same kernel with PyTorch.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>

#include "data/augment.h"
#include "gpu/harness.h"
#include "ops/loss.h"
#include "ops/loss_check.h"
#include "ops/op_check.h"
#include "reference/loss.h"

namespace fovea::test {
namespace {

struct Weighted {
  uint32_t batch = 0, classes = 0, rows = 0;
  float smoothing = 0;
  float lam = 1;       // < 1: mixed, with `shift`
  uint32_t shift = 0;
  bool gradient = true;
  bool unweighted = false;  // run the plain kernel instead (same labels block)
};

struct WeightedRun {
  std::vector<float> loss, correct, dlogits;
};

WeightedRun run_weighted(const Weighted& c, const std::vector<float>& logits, const std::vector<uint32_t>& labels,
                         const std::vector<float>& weights) {
  const uint64_t n = uint64_t(c.batch) * c.classes;
  const bool mix = c.lam < 1;
  OpRun run;
  auto z = run.tensor("logits", n), y = run.tensor("labels", c.batch + data::kMixWords);
  auto w = run.tensor("class_weights", c.classes), dz = run.tensor("dlogits", n);
  auto stats = run.tensor("stats", 2ull * c.batch);
  run.commit();
  std::vector<uint32_t> words = labels;
  words.resize(c.batch + data::kMixWords);
  data::MixDraw draw;
  draw.mode = mix ? 1 : 0, draw.shift = c.shift, draw.lam = c.lam;
  std::memcpy(words.data() + c.batch, &draw, sizeof draw);
  run.set(z, logits);
  run.set_u32(y, words);
  run.set(w, weights);
  run.set(dz, garbage(n, 5));
  run.set(stats, garbage(2ull * c.batch, 6));
  if (c.unweighted && mix)
    ops::record_softmax_xent_mixed(run.program(), c.batch, c.classes, z, y, dz, stats, c.gradient, c.smoothing,
                                   "xent");
  else if (c.unweighted)
    ops::record_softmax_xent(run.program(), c.batch, c.classes, z, y, dz, stats, c.gradient, c.smoothing, "xent");
  else
    ops::record_softmax_xent_weighted(run.program(), c.batch, c.classes, z, y, w, dz, stats, c.gradient,
                                      c.smoothing, mix, "xent");
  nn::StepParams params;
  params.rows = c.rows;
  run.run(params);
  WeightedRun r;
  split_stats(run.get(stats, 2ull * c.batch), c.batch, r.loss, r.correct);
  r.dlogits = run.get(dz, n);
  return r;
}

// The kernel against the reference; returns the run.
WeightedRun check_weighted(const Weighted& c, uint64_t seed) {
  INFO("batch " << c.batch << ", classes " << c.classes << ", rows " << c.rows << ", smoothing " << c.smoothing
                << ", lam " << c.lam << ", shift " << c.shift);
  const auto logits = random_floats(uint64_t(c.batch) * c.classes, seed, -3, 3);
  const auto labels = random_labels(c.batch, c.classes, seed + 1);
  const auto weights = random_floats(c.classes, seed + 2, 0.2f, 3.0f);
  const WeightedRun r = run_weighted(c, logits, labels, weights);
  const ref::SoftmaxXent want = ref::softmax_xent_weighted(c.batch, c.classes, c.rows, ref::widen(logits), labels,
                                                           ref::widen(weights), c.smoothing, c.lam, c.shift);
  check_close(r.loss, want.loss, 1e-5, 1e-5, "loss");
  check_close(r.correct, want.correct, 0, 0, "correct");
  const double scale = std::max(1e-30, *std::max_element(want.dlogits.begin(), want.dlogits.end()));
  check_close(r.dlogits, want.dlogits, 1e-6 * scale, 1e-4, "dlogits");
  return r;
}

}  // namespace

TEST_CASE("class-weighted cross-entropy matches the reference on awkward shapes", "[loss][weighted]") {
  uint64_t seed = 500;
  for (Weighted c : {Weighted{1, 2, 1}, Weighted{3, 10, 3}, Weighted{17, 31, 12}, Weighted{65, 129, 65},
                     Weighted{130, 3, 100}, Weighted{7, 1000, 7}}) {
    for (float e : {0.0f, 0.1f}) {
      c.smoothing = e;
      check_weighted(c, seed += 5);
    }
  }
}

TEST_CASE("class-weighted cross-entropy of mixed rows weighs both labels", "[loss][weighted]") {
  check_weighted({37, 10, 23, 0.0f, 0.3f, 5}, 600);
  check_weighted({17, 31, 17, 0.2f, 0.7f, 16}, 610);
}

TEST_CASE("class-weighted cross-entropy gradient equals finite differences", "[loss][weighted][gradient]") {
  uint64_t seed = 700;
  for (Weighted c : {Weighted{9, 13, 6}, Weighted{11, 7, 9, 0.3f}, Weighted{12, 5, 10, 0.1f, 0.4f, 3}}) {
    INFO("batch " << c.batch << ", classes " << c.classes << ", smoothing " << c.smoothing << ", lam " << c.lam);
    seed += 10;
    const auto logits = random_floats(uint64_t(c.batch) * c.classes, seed, -3, 3);
    const auto labels = random_labels(c.batch, c.classes, seed + 1);
    const auto weights = random_floats(c.classes, seed + 2, 0.2f, 3.0f);
    const WeightedRun r = run_weighted(c, logits, labels, weights);
    auto loss = [&](const ref::Tensor& z) {
      return ref::mean_xent_weighted(c.batch, c.classes, c.rows, z, labels, ref::widen(weights), c.smoothing, c.lam,
                                     c.shift);
    };
    check_finite_differences(r.dlogits, ref::widen(logits), loss, 1e-4, 400, 1e-6, 1e-4, "dlogits");
  }
}

TEST_CASE("class weights of 1 give the unweighted loss", "[loss][weighted]") {
  for (Weighted c : {Weighted{29, 11, 25, 0.0f}, Weighted{29, 11, 25, 0.2f}, Weighted{29, 11, 29, 0.1f, 0.35f, 4}}) {
    const auto logits = random_floats(29 * 11, 800, -3, 3);
    const auto labels = random_labels(29, 11, 801);
    const std::vector<float> ones(11, 1.0f);
    const WeightedRun w = run_weighted(c, logits, labels, ones);
    Weighted plain = c;
    plain.unweighted = true;
    const WeightedRun u = run_weighted(plain, logits, labels, ones);
    check_close(w.loss, ref::widen(u.loss), 1e-6, 1e-5, "loss");
    check_close(w.correct, ref::widen(u.correct), 0, 0, "correct");
    check_close(w.dlogits, ref::widen(u.dlogits), 1e-8, 1e-5, "dlogits");
  }
}

TEST_CASE("class-weighted cross-entropy of a batch whose classes weigh 0 is 0, not NaN", "[loss][weighted]") {
  const Weighted c{9, 4, 7, 0.1f};
  const auto logits = random_floats(36, 900, -3, 3);
  const std::vector<uint32_t> labels = {1, 1, 3, 1, 3, 3, 1, 0, 2};  // valid rows: classes 1 and 3
  const std::vector<float> weights = {2.0f, 0.0f, 0.5f, 0.0f};
  const WeightedRun r = run_weighted(c, logits, labels, weights);
  check_close(r.loss, std::vector<double>(9, 0.0), 0, 0, "loss");
  check_close(r.dlogits, std::vector<double>(36, 0.0), 0, 0, "dlogits");
  // One valid row of a weighted class makes W > 0 again.
  std::vector<uint32_t> one = labels;
  one[4] = 2;
  const WeightedRun s = run_weighted(c, logits, one, weights);
  const ref::SoftmaxXent want =
      ref::softmax_xent_weighted(9, 4, 7, ref::widen(logits), one, ref::widen(weights), 0.1);
  check_close(s.loss, want.loss, 1e-5, 1e-5, "loss with one weighted row");
  CHECK(want.loss[4] > 0);
}

TEST_CASE("class-weighted cross-entropy without gradient leaves dlogits alone", "[loss][weighted]") {
  Weighted c{33, 7, 30, 0.1f};
  c.gradient = false;
  const auto logits = random_floats(33 * 7, 950, -2, 2);
  const auto labels = random_labels(33, 7, 951);
  const auto weights = random_floats(7, 952, 0.2f, 3.0f);
  const WeightedRun r = run_weighted(c, logits, labels, weights);
  const ref::SoftmaxXent want = ref::softmax_xent_weighted(33, 7, 30, ref::widen(logits), labels, ref::widen(weights), 0.1);
  check_close(r.loss, want.loss, 1e-5, 1e-5, "loss");
  check_close(r.dlogits, ref::widen(garbage(33 * 7, 5)), 0, 0, "untouched dlogits");
}

TEST_CASE("class-weighted cross-entropy at the class limit and past the loop budget in rows",
          "[loss][weighted][loop-budget]") {
  // 16,384 classes: three class loops per row as unweighted; 70,001 rows:
  // the weight sum over the batch is split between 64 lanes.
  check_weighted({3, ops::kMaxClasses, 2, 0.25f}, 1000);
  check_weighted({70001, 3, 70001, 0.1f}, 1010);
}

TEST_CASE("class-weighted cross-entropy refuses missing or short class weights", "[loss][weighted]") {
  OpRun run;
  auto z = run.tensor("z", 40), y = run.tensor("y", 4), w = run.tensor("w", 9), dz = run.tensor("dz", 40);
  auto st = run.tensor("st", 8);
  run.commit();
  CHECK_THROWS_WITH(ops::record_softmax_xent_weighted(run.program(), 4, 10, z, y, w, dz, st, true, 0, false, "loss"),
                    Catch::Contains("loss (class weights): view w holds 9 values, needs 10"));
  CHECK_THROWS_WITH(
      ops::record_softmax_xent_weighted(run.program(), 4, 10, z, y, gpu::View{}, dz, st, true, 0, false, "loss"),
      Catch::Contains("needs its class weights"));
}

}  // namespace fovea::test
