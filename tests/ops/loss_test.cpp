// loss: fused softmax cross-entropy against the reference: per-row loss,
// correctness with first-maximum argmax, the gradient scaled by 1/rows,
// zeros for padding rows, and the gradient against finite differences of
// the reference mean loss.
#include <catch2/catch.hpp>

#include "data/split.h"
#include "gpu/harness.h"
#include "ops/loss.h"
#include "ops/op_check.h"
#include "reference/loss.h"

namespace fovea::test {
namespace {

struct XentResult {
  std::vector<float> loss, correct, dlogits;
  std::vector<float> dlogits_before;  // what dlogits held before the kernel ran
};

XentResult run_xent(uint32_t batch, uint32_t classes, uint32_t rows,
                    const std::vector<float>& logits, const std::vector<uint32_t>& labels,
                    bool gradient) {
  const uint64_t n = uint64_t(batch) * classes;
  OpRun run;
  auto z = run.tensor("logits", n), y = run.tensor("labels", batch);
  auto dz = run.tensor("dlogits", n), stats = run.tensor("stats", 2ull * batch);
  run.commit();
  XentResult r;
  r.dlogits_before = garbage(n, 7);
  run.set(z, logits);
  run.set_u32(y, labels);
  run.set(dz, r.dlogits_before);
  run.set(stats, garbage(2ull * batch, 8));
  ops::record_softmax_xent(run.program(), batch, classes, z, y, dz, stats, gradient, "xent");
  gpu::StepParams params;
  params.rows = rows;
  run.run(params);
  const auto s = run.get(stats, 2ull * batch);
  for (uint32_t b = 0; b < batch; ++b) {
    r.loss.push_back(s[2 * b]);
    r.correct.push_back(s[2 * b + 1]);
  }
  r.dlogits = run.get(dz, n);
  return r;
}

std::vector<uint32_t> random_labels(uint32_t batch, uint32_t classes, uint64_t seed) {
  data::Rng rng(seed);
  std::vector<uint32_t> labels(batch);
  for (auto& l : labels) l = uint32_t(rng.below(classes));
  return labels;
}

void check_xent(uint32_t batch, uint32_t classes, uint32_t rows, const std::vector<float>& logits,
                const std::vector<uint32_t>& labels) {
  INFO("batch " << batch << ", classes " << classes << ", rows " << rows);
  const XentResult r = run_xent(batch, classes, rows, logits, labels, true);
  const ref::SoftmaxXent want = ref::softmax_xent(batch, classes, rows, ref::widen(logits), labels);
  check_close(r.loss, want.loss, 1e-5, 1e-5, "loss");
  check_close(r.correct, want.correct, 0.0, 0.0, "correct");
  // |dz| <= 1/rows; float exp and the 1/rows product are good to ~1e-6 rel.
  check_close(r.dlogits, want.dlogits, 1e-7, 1e-4, "dlogits");
}

}  // namespace

TEST_CASE("softmax cross-entropy matches the reference on awkward class counts", "[loss]") {
  struct Case {
    uint32_t batch, classes;
  };
  uint64_t seed = 40;
  for (Case c : {Case{1, 2}, Case{3, 10}, Case{17, 31}, Case{65, 129}, Case{130, 3},
                 Case{7, 1000}, Case{64, 10}}) {
    seed += 3;
    // Labels often match the argmax when logits are this spread, so both
    // correct = 0 and correct = 1 occur.
    check_xent(c.batch, c.classes, c.batch, random_floats(uint64_t(c.batch) * c.classes, seed, -3, 3),
               random_labels(c.batch, c.classes, seed));
  }
}

TEST_CASE("softmax cross-entropy of a partial batch scales by 1/rows and zeroes padding rows",
          "[loss][padding]") {
  // rows = 23 of 37: the mean is over 23 rows, so the gradient of a valid row
  // is (softmax - onehot) / 23, not / 37; padding rows get loss, correct and
  // gradient 0 although their logits are random.
  const uint32_t batch = 37, classes = 10, rows = 23;
  const auto logits = random_floats(uint64_t(batch) * classes, 50, -4, 4);
  const auto labels = random_labels(batch, classes, 50);
  check_xent(batch, classes, rows, logits, labels);

  const XentResult r = run_xent(batch, classes, rows, logits, labels, true);
  const ref::SoftmaxXent full = ref::softmax_xent(batch, classes, rows, ref::widen(logits), labels);
  // Each valid row's gradient sums to 0 and its label entry is (p - 1)/rows.
  for (uint32_t b = 0; b < rows; ++b) {
    double s = 0;
    for (uint32_t k = 0; k < classes; ++k) s += r.dlogits[b * classes + k];
    CHECK(std::fabs(s) < 1e-6);
    const double p_label = full.dlogits[b * classes + labels[b]] * rows + 1.0;
    CHECK(std::fabs(r.dlogits[b * classes + labels[b]] - (p_label - 1.0) / rows) < 1e-6);
  }
  for (uint32_t b = rows; b < batch; ++b) {
    CHECK(r.loss[b] == 0.0f);
    CHECK(r.correct[b] == 0.0f);
    for (uint32_t k = 0; k < classes; ++k) CHECK(r.dlogits[b * classes + k] == 0.0f);
  }
}

TEST_CASE("softmax cross-entropy argmax takes the first of tied maxima", "[loss]") {
  // Rows 0 and 1: the maximum 2.5 at classes 1 and 3. Row 0 labels 1 (the
  // first maximum: correct), row 1 labels 3 (a tie but not first: wrong).
  // Row 2: the maximum at class 0 labelled 0. Row 3: every logit equal.
  const uint32_t batch = 4, classes = 5;
  const std::vector<float> logits = {0.5f, 2.5f, -1.0f, 2.5f, 0.25f,  //
                                     0.5f, 2.5f, -1.0f, 2.5f, 0.25f,  //
                                     3.0f, 2.5f, -1.0f, 2.5f, 0.25f,  //
                                     0.75f, 0.75f, 0.75f, 0.75f, 0.75f};
  const std::vector<uint32_t> labels = {1, 3, 0, 4};
  const XentResult r = run_xent(batch, classes, batch, logits, labels, true);
  check_close(r.correct, {1, 0, 1, 0}, 0.0, 0.0, "correct");
  check_xent(batch, classes, batch, logits, labels);
}

TEST_CASE("softmax cross-entropy stays finite for logits past exp's float range", "[loss]") {
  // exp(100) overflows float: only a max-subtracting kernel is finite here.
  const uint32_t batch = 9, classes = 13;
  auto logits = random_floats(uint64_t(batch) * classes, 60, 80, 120);
  for (uint32_t k = 0; k < classes; ++k) logits[5 * classes + k] = -100.0f - k;
  check_xent(batch, classes, batch, logits, random_labels(batch, classes, 60));
}

TEST_CASE("softmax cross-entropy without gradient writes stats and leaves dlogits alone",
          "[loss]") {
  const uint32_t batch = 33, classes = 7, rows = 30;
  const auto logits = random_floats(uint64_t(batch) * classes, 70, -2, 2);
  const auto labels = random_labels(batch, classes, 70);
  const XentResult r = run_xent(batch, classes, rows, logits, labels, false);
  const ref::SoftmaxXent want = ref::softmax_xent(batch, classes, rows, ref::widen(logits), labels);
  check_close(r.loss, want.loss, 1e-5, 1e-5, "loss");
  check_close(r.correct, want.correct, 0.0, 0.0, "correct");
  check_close(r.dlogits, ref::widen(r.dlogits_before), 0.0, 0.0, "untouched dlogits");
}

TEST_CASE("softmax cross-entropy at the 16384-class limit, and past it an error",
          "[loss][loop-budget]") {
  // Each row's invocation runs three class loops (argmax, sum, gradient):
  // 49,152 iterations at the limit, inside lavapipe's 65,535 per invocation.
  const uint32_t batch = 3, classes = ops::kMaxClasses, rows = 2;
  check_xent(batch, classes, rows, random_floats(uint64_t(batch) * classes, 90, -2, 2),
             random_labels(batch, classes, 90));
  OpRun run;
  auto z = run.tensor("z", 30000), y = run.tensor("y", 1), dz = run.tensor("dz", 30000);
  auto st = run.tensor("stats", 2);
  run.commit();
  CHECK_THROWS_WITH(ops::record_softmax_xent(run.program(), 1, ops::kMaxClasses + 1, z, y, dz, st,
                                             true, "xent"),
                    Catch::Contains("classes must be in 2..16384"));
}

TEST_CASE("softmax cross-entropy gradient equals finite differences of the mean loss",
          "[loss][gradient]") {
  struct Case {
    uint32_t batch, classes, rows;
  };
  uint64_t seed = 80;
  for (Case c : {Case{9, 13, 6}, Case{3, 2, 3}, Case{65, 31, 64}}) {
    INFO("batch " << c.batch << ", classes " << c.classes << ", rows " << c.rows);
    seed += 1;
    const auto logits = random_floats(uint64_t(c.batch) * c.classes, seed, -3, 3);
    const auto labels = random_labels(c.batch, c.classes, seed);
    const XentResult r = run_xent(c.batch, c.classes, c.rows, logits, labels, true);
    // Padding rows included: their logits do not enter the loss, so the
    // finite difference there is 0 and so must the kernel's gradient be.
    auto loss = [&](const ref::Tensor& z) {
      return ref::mean_xent(c.batch, c.classes, c.rows, z, labels);
    };
    check_finite_differences(r.dlogits, ref::widen(logits), loss, 1e-4, 400, 1e-6, 1e-4,
                             "dlogits");
  }
}

}  // namespace fovea::test
