// loss: fused softmax cross-entropy (with and without label smoothing), MSE
// and BCE with logits against the reference: per-row loss, correctness, the
// gradient of the mean over valid rows, zeros for padding rows, rows longer
// than one loop slice, and every gradient against finite differences of the
// reference mean loss.
#include <catch2/catch.hpp>

#include <cstring>

#include "data/augment.h"
#include "data/split.h"
#include "gpu/harness.h"
#include "ops/loss.h"
#include "ops/loss_check.h"
#include "ops/op_check.h"
#include "reference/loss.h"

namespace fovea::test {
namespace {

struct XentResult {
  std::vector<float> loss, correct, dlogits;
  std::vector<float> dlogits_before;  // what dlogits held before the kernel ran
};

// smoothing < 0: the original overload (no label smoothing argument).
// mix: the mixing variant, with this block after the labels.
XentResult run_xent(uint32_t batch, uint32_t classes, uint32_t rows,
                    const std::vector<float>& logits, const std::vector<uint32_t>& labels,
                    bool gradient, float smoothing = -1.0f, const data::MixDraw* mix = nullptr,
                    uint32_t loss_rows = 0) {
  const uint64_t n = uint64_t(batch) * classes;
  OpRun run;
  auto z = run.tensor("logits", n), y = run.tensor("labels", batch + (mix ? data::kMixWords : 0));
  auto dz = run.tensor("dlogits", n), stats = run.tensor("stats", 2ull * batch);
  run.commit();
  XentResult r;
  r.dlogits_before = garbage(n, 7);
  run.set(z, logits);
  std::vector<uint32_t> words = labels;
  if (mix) {
    words.resize(batch + data::kMixWords);
    std::memcpy(words.data() + batch, mix, sizeof *mix);
  }
  run.set_u32(y, words);
  run.set(dz, r.dlogits_before);
  run.set(stats, garbage(2ull * batch, 8));
  if (mix)
    ops::record_softmax_xent_mixed(run.program(), batch, classes, z, y, dz, stats, gradient,
                                   std::max(smoothing, 0.0f), "xent");
  else if (smoothing < 0)
    ops::record_softmax_xent(run.program(), batch, classes, z, y, dz, stats, gradient, "xent");
  else
    ops::record_softmax_xent(run.program(), batch, classes, z, y, dz, stats, gradient, smoothing,
                             "xent");
  nn::StepParams params;
  params.rows = rows;
  params.loss_rows = loss_rows;
  run.run(params);
  split_stats(run.get(stats, 2ull * batch), batch, r.loss, r.correct);
  r.dlogits = run.get(dz, n);
  return r;
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
  for (Case c : {Case{1, 2}, Case{3, 10}, Case{17, 31}, Case{65, 129}, Case{130, 3}, Case{7, 1000},
                 Case{64, 10}}) {
    seed += 3;
    // Labels often match the argmax when logits are this spread, so both
    // correct = 0 and correct = 1 occur.
    check_xent(c.batch, c.classes, c.batch,
               random_floats(uint64_t(c.batch) * c.classes, seed, -3, 3),
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
  const std::vector<float> logits = {0.5f,  2.5f,  -1.0f, 2.5f,  0.25f,  //
                                     0.5f,  2.5f,  -1.0f, 2.5f,  0.25f,  //
                                     3.0f,  2.5f,  -1.0f, 2.5f,  0.25f,  //
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
  CHECK_THROWS_WITH(
      ops::record_softmax_xent(run.program(), 1, ops::kMaxClasses + 1, z, y, dz, st, true, "xent"),
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
    check_finite_differences(r.dlogits, ref::widen(logits), loss, 1e-4, 400, 1e-6, 1e-4, "dlogits");
  }
}

TEST_CASE("softmax cross-entropy with label smoothing matches the explicit reference",
          "[loss][smoothing]") {
  struct Case {
    uint32_t batch, classes, rows;
    float smoothing;
  };
  uint64_t seed = 120;
  for (Case c : {Case{1, 2, 1, 0.1f}, Case{3, 10, 3, 0.3f}, Case{17, 31, 13, 0.05f},
                 Case{65, 129, 60, 0.9f}, Case{7, 1000, 7, 0.2f}, Case{37, 10, 23, 0.5f}}) {
    INFO("batch " << c.batch << ", classes " << c.classes << ", rows " << c.rows << ", smoothing "
                  << c.smoothing);
    seed += 3;
    const auto logits = random_floats(uint64_t(c.batch) * c.classes, seed, -3, 3);
    const auto labels = random_labels(c.batch, c.classes, seed);
    const XentResult r = run_xent(c.batch, c.classes, c.rows, logits, labels, true, c.smoothing);
    const ref::SoftmaxXent want =
        ref::softmax_xent(c.batch, c.classes, c.rows, ref::widen(logits), labels, c.smoothing);
    check_close(r.loss, want.loss, 1e-5, 1e-5, "loss");
    check_close(r.correct, want.correct, 0.0, 0.0, "correct");
    check_close(r.dlogits, want.dlogits, 1e-7, 1e-4, "dlogits");
    // Smoothing changes the loss: the unsmoothed reference must differ.
    const ref::SoftmaxXent plain =
        ref::softmax_xent(c.batch, c.classes, c.rows, ref::widen(logits), labels);
    CHECK(std::fabs(plain.loss[0] - want.loss[0]) > 1e-3);
  }
  // Smoothing 0 through the new overload is the original kernel's result.
  const auto logits = random_floats(13 * 9, 130, -3, 3);
  const auto labels = random_labels(13, 9, 130);
  const XentResult a = run_xent(13, 9, 11, logits, labels, true);
  const XentResult b = run_xent(13, 9, 11, logits, labels, true, 0.0f);
  check_close(b.loss, ref::widen(a.loss), 0, 0, "loss, smoothing 0");
  check_close(b.dlogits, ref::widen(a.dlogits), 0, 0, "dlogits, smoothing 0");
}

TEST_CASE("softmax cross-entropy with label smoothing at the class limit", "[loss][loop-budget]") {
  const uint32_t batch = 3, classes = ops::kMaxClasses, rows = 2;
  const auto logits = random_floats(uint64_t(batch) * classes, 140, -2, 2);
  const auto labels = random_labels(batch, classes, 140);
  const XentResult r = run_xent(batch, classes, rows, logits, labels, true, 0.25f);
  const ref::SoftmaxXent want =
      ref::softmax_xent(batch, classes, rows, ref::widen(logits), labels, 0.25);
  check_close(r.loss, want.loss, 1e-5, 1e-5, "loss");
  check_close(r.dlogits, want.dlogits, 1e-9, 1e-4, "dlogits");
}

TEST_CASE("softmax cross-entropy label smoothing gradient equals finite differences",
          "[loss][smoothing][gradient]") {
  const uint32_t batch = 11, classes = 7, rows = 9;
  const float e = 0.3f;
  const auto logits = random_floats(uint64_t(batch) * classes, 150, -3, 3);
  const auto labels = random_labels(batch, classes, 150);
  const XentResult r = run_xent(batch, classes, rows, logits, labels, true, e);
  auto loss = [&](const ref::Tensor& z) {
    return ref::mean_xent(batch, classes, rows, z, labels, e);
  };
  check_finite_differences(r.dlogits, ref::widen(logits), loss, 1e-4, 400, 1e-6, 1e-4, "dlogits");
}

TEST_CASE("softmax cross-entropy rejects label smoothing below 0 or at 1 and above", "[loss][smoothing]") {
  OpRun run;
  auto z = run.tensor("z", 20), y = run.tensor("y", 2), dz = run.tensor("dz", 20);
  auto st = run.tensor("stats", 4);
  run.commit();
  for (float bad : {-0.1f, 1.0f, 1.5f, std::nanf("")})
    CHECK_THROWS_WITH(
        ops::record_softmax_xent(run.program(), 2, 10, z, y, dz, st, true, bad, "xent2"),
        Catch::Contains("xent2: label_smoothing must be in [0, 1)"));
}

TEST_CASE("softmax cross-entropy with mixed targets matches the reference and finite differences",
          "[loss][mix]") {
  struct Case {
    uint32_t batch, classes, rows, shift;
    float lam, smoothing;
  };
  uint64_t seed = 160;
  for (Case c : {Case{9, 13, 7, 3, 0.3f, 0.0f}, Case{5, 10, 5, 1, 0.8f, 0.1f}, Case{65, 31, 64, 17, 0.5f, 0.0f},
                 Case{3, 2, 2, 1, 0.05f, 0.2f}}) {
    INFO("batch " << c.batch << ", classes " << c.classes << ", rows " << c.rows << ", lam " << c.lam);
    seed += 1;
    const auto logits = random_floats(uint64_t(c.batch) * c.classes, seed, -3, 3);
    const auto labels = random_labels(c.batch, c.classes, seed);
    data::MixDraw mix;
    mix.mode = 1;
    mix.shift = c.shift;
    mix.lam = c.lam;
    const XentResult r = run_xent(c.batch, c.classes, c.rows, logits, labels, true, c.smoothing, &mix);
    const ref::SoftmaxXent want = ref::softmax_xent_mixed(c.batch, c.classes, c.rows, ref::widen(logits),
                                                          labels, c.lam, c.shift, c.smoothing);
    check_close(r.loss, want.loss, 1e-5, 1e-5, "loss");
    check_close(r.correct, want.correct, 0.0, 0.0, "correct");
    check_close(r.dlogits, want.dlogits, 1e-7, 1e-4, "dlogits");
    // The mixed loss is not the plain one (the partner label weighs in).
    const ref::SoftmaxXent plain =
        ref::softmax_xent(c.batch, c.classes, c.rows, ref::widen(logits), labels, c.smoothing);
    double diff = 0;
    for (uint32_t b = 0; b < c.rows; ++b) diff += std::fabs(plain.loss[b] - want.loss[b]);
    CHECK(diff > 1e-3);
    auto loss = [&](const ref::Tensor& z) {
      return ref::mean_xent_mixed(c.batch, c.classes, c.rows, z, labels, c.lam, c.shift, c.smoothing);
    };
    check_finite_differences(r.dlogits, ref::widen(logits), loss, 1e-4, 300, 1e-6, 1e-4, "dlogits");
  }
  // A step without mixing (mode 0) gives the plain kernel's results exactly.
  const auto logits = random_floats(13 * 9, 170, -3, 3);
  const auto labels = random_labels(13, 9, 170);
  data::MixDraw off;
  off.shift = 5;
  off.lam = 0.25f;
  const XentResult a = run_xent(13, 9, 11, logits, labels, true);
  const XentResult b = run_xent(13, 9, 11, logits, labels, true, 0.0f, &off);
  check_close(b.loss, ref::widen(a.loss), 0, 0, "loss, mode 0");
  check_close(b.correct, ref::widen(a.correct), 0, 0, "correct, mode 0");
  check_close(b.dlogits, ref::widen(a.dlogits), 0, 0, "dlogits, mode 0");
}

namespace {

enum class Pw { Mse, Bce };

struct PwResult {
  std::vector<float> loss, correct, grad, grad_before;
};

// y (or logits) and target [batch, features] -> per-row stats and gradient.
PwResult run_pointwise(Pw kind, uint32_t batch, uint32_t features, uint32_t rows,
                       const std::vector<float>& y, const std::vector<float>& t, bool gradient,
                       uint32_t loss_rows = 0) {
  const uint64_t n = uint64_t(batch) * features;
  OpRun run;
  auto vy = run.tensor("y", n), vt = run.tensor("t", n), vg = run.tensor("dy", n);
  auto stats = run.tensor("stats", 2ull * batch);
  run.commit();
  PwResult r;
  r.grad_before = garbage(n, 9);
  run.set(vy, y);
  run.set(vt, t);
  run.set(vg, r.grad_before);
  run.set(stats, garbage(2ull * batch, 10));
  if (kind == Pw::Mse)
    ops::record_mse_loss(run.program(), batch, features, vy, vt, vg, stats, gradient, "mse");
  else
    ops::record_bce_with_logits(run.program(), batch, features, vy, vt, vg, stats, gradient, "bce");
  nn::StepParams params;
  params.rows = rows;
  params.loss_rows = loss_rows;
  run.run(params);
  split_stats(run.get(stats, 2ull * batch), batch, r.loss, r.correct);
  r.grad = run.get(vg, n);
  return r;
}

ref::PointwiseLoss ref_pointwise(Pw kind, uint32_t batch, uint32_t features, uint32_t rows,
                                 const std::vector<float>& y, const std::vector<float>& t) {
  return kind == Pw::Mse
             ? ref::mse_loss(batch, features, rows, ref::widen(y), ref::widen(t))
             : ref::bce_with_logits(batch, features, rows, ref::widen(y), ref::widen(t));
}

// Predictions in [-6, 6]; MSE targets in [-2, 2], BCE targets probabilities
// with every third one a hard 0 or 1.
struct PwInputs {
  std::vector<float> y, t;
};
PwInputs pointwise_inputs(Pw kind, uint64_t n, uint64_t seed) {
  PwInputs in{random_floats(n, seed, -6, 6), {}};
  if (kind == Pw::Mse) {
    in.t = random_floats(n, seed + 1, -2, 2);
  } else {
    in.t = random_floats(n, seed + 1, 0, 1);
    for (uint64_t i = 0; i < n; i += 3) in.t[i] = in.y[i] > 0.5f ? 1.0f : 0.0f;
  }
  return in;
}

void check_pointwise(Pw kind, uint32_t batch, uint32_t features, uint32_t rows,
                     const PwInputs& in) {
  INFO((kind == Pw::Mse ? "mse" : "bce")
       << ", batch " << batch << ", features " << features << ", rows " << rows);
  const PwResult r = run_pointwise(kind, batch, features, rows, in.y, in.t, true);
  const ref::PointwiseLoss want = ref_pointwise(kind, batch, features, rows, in.y, in.t);
  check_close(r.loss, want.loss, 1e-6, 1e-5, "loss");
  check_close(r.correct, want.correct, 0.0, 0.0, "correct");
  // sigmoid(z) - t cancels when sigmoid(z) is close to t: ~1e-7 absolute
  // before the 1/N scale.
  check_close(r.grad, want.grad, 2e-7 / (double(rows) * features), 1e-5, "gradient");
  for (uint32_t b = rows; b < batch; ++b) {
    CHECK(r.loss[b] == 0.0f);
    CHECK(r.correct[b] == 0.0f);
    for (uint64_t i = uint64_t(b) * features; i < uint64_t(b + 1) * features; ++i)
      CHECK(r.grad[i] == 0.0f);
  }
}

}  // namespace

TEST_CASE("mse and bce with logits match the reference on awkward shapes with padding rows",
          "[loss][padding]") {
  struct Case {
    uint32_t batch, features, rows;
  };
  uint64_t seed = 160;
  for (Pw kind : {Pw::Mse, Pw::Bce})
    for (Case c : {Case{1, 1, 1}, Case{3, 5, 3}, Case{17, 31, 17}, Case{65, 3, 64},
                   Case{7, 1000, 5}, Case{130, 7, 129}, Case{37, 1, 23}}) {
      seed += 2;
      check_pointwise(kind, c.batch, c.features, c.rows,
                      pointwise_inputs(kind, uint64_t(c.batch) * c.features, seed));
    }
}

TEST_CASE("bce with logits is finite for large logits and counts agreement", "[loss]") {
  // |z| = 100: exp(-z) overflows float, only the stable form is finite.
  // One feature: correct is binary accuracy (z > 0) == (t > 0.5), t = 0.5
  // counting as 0. Rows 0..5 of batch 6, rows = 5.
  const std::vector<float> z = {100.0f, -100.0f, 100.0f, 3.0f, -0.5f, 2.0f};
  const std::vector<float> t = {1.0f, 1.0f, 0.0f, 0.5f, 0.5f, 1.0f};
  const PwResult r = run_pointwise(Pw::Bce, 6, 1, 5, z, t, true);
  check_close(r.correct, {1, 0, 0, 0, 1, 0}, 0.0, 0.0, "correct");
  check_pointwise(Pw::Bce, 6, 1, 5, {z, t});
  // Several features: correct only when every feature agrees.
  const std::vector<float> z2 = {1.0f, -1.0f, 2.0f, 1.0f, -1.0f, -2.0f};
  const std::vector<float> t2 = {1.0f, 0.0f, 0.9f, 1.0f, 0.0f, 0.9f};
  check_close(run_pointwise(Pw::Bce, 2, 3, 2, z2, t2, true).correct, {1, 0}, 0.0, 0.0,
              "exact-match correct");
}

TEST_CASE("mse and bce gradients equal finite differences of the mean loss", "[loss][gradient]") {
  struct Case {
    uint32_t batch, features, rows;
  };
  uint64_t seed = 180;
  for (Pw kind : {Pw::Mse, Pw::Bce})
    for (Case c : {Case{9, 13, 6}, Case{3, 1, 3}, Case{5, 40, 4}}) {
      INFO((kind == Pw::Mse ? "mse" : "bce")
           << ", batch " << c.batch << ", features " << c.features << ", rows " << c.rows);
      seed += 2;
      const PwInputs in = pointwise_inputs(kind, uint64_t(c.batch) * c.features, seed);
      const PwResult r = run_pointwise(kind, c.batch, c.features, c.rows, in.y, in.t, true);
      const ref::Tensor t = ref::widen(in.t);
      // Padding rows included: their entries do not enter the loss.
      auto loss = [&](const ref::Tensor& y) {
        const auto p = kind == Pw::Mse ? ref::mse_loss(c.batch, c.features, c.rows, y, t)
                                       : ref::bce_with_logits(c.batch, c.features, c.rows, y, t);
        return ref::mean_rows(p.loss, c.rows);
      };
      check_finite_differences(r.grad, ref::widen(in.y), loss, 1e-3, 400, 1e-8, 1e-4, "grad");
    }
}

TEST_CASE("mse and bce rows longer than one loop slice are split and summed in order",
          "[loss][loop-budget]") {
  // 40,000 features = slices of 16384, 16384 and 7232 (a second dispatch
  // adds them); 16384 is exactly one slice, 16385 puts one feature in a
  // second. One invocation looping over 40,000 would pass lavapipe's
  // 16,384-per-invocation rule and, with several rows per group, its budget.
  uint64_t seed = 200;
  for (Pw kind : {Pw::Mse, Pw::Bce})
    for (uint32_t features : {ops::kLossSlice, ops::kLossSlice + 1, 40000u}) {
      seed += 2;
      check_pointwise(kind, 3, features, 2, pointwise_inputs(kind, 3ull * features, seed));
    }
}

TEST_CASE("mse and bce without gradient write stats and leave the gradient alone", "[loss]") {
  for (Pw kind : {Pw::Mse, Pw::Bce}) {
    const PwInputs in = pointwise_inputs(kind, 33 * 5, 220);
    const PwResult r = run_pointwise(kind, 33, 5, 30, in.y, in.t, false);
    const ref::PointwiseLoss want = ref_pointwise(kind, 33, 5, 30, in.y, in.t);
    check_close(r.loss, want.loss, 1e-6, 1e-5, "loss");
    check_close(r.grad, ref::widen(r.grad_before), 0.0, 0.0, "untouched gradient");
  }
}

TEST_CASE("mse and bce reject empty shapes and rows past 2^28 features", "[loss]") {
  OpRun run;
  auto v = run.tensor("v", 16), st = run.tensor("stats", 4);
  run.commit();
  auto& p = run.program();
  CHECK_THROWS_WITH(ops::record_mse_loss(p, 2, 0, v, v, v, st, true, "mse2"),
                    Catch::Contains("mse2: empty batch or no features"));
  CHECK_THROWS_WITH(ops::record_bce_with_logits(p, 1, (1u << 28) + 1, v, v, v, st, true, "bce2"),
                    Catch::Contains("bce2") && Catch::Contains("more than 2^28"));
  CHECK_THROWS_WITH(ops::record_mse_loss(p, 2, 9, v, v, v, st, true, "mse3"),
                    Catch::Contains("mse3") && Catch::Contains("needs 18"));
}

// Data-parallel training (src/dist): a rank's batch is its shard of the
// global batch, and with P.loss_rows = the global batch's rows its loss
// gradient is the global mean's gradient on its rows, so the ranks'
// gradients sum to the global batch's. Shards of 20 and 21 rows of a 41-row
// batch, each run as a 23-row batch with padding, against the reference of
// the whole batch.
TEST_CASE("a shard's loss gradient divides by the global batch's rows (loss_rows)", "[loss][data-parallel]") {
  const uint32_t global = 41, padded = 23, classes = 13, features = 29;
  const uint32_t shards[2][2] = {{0, 20}, {20, 41}};  // [first, end) rows of the global batch
  const auto logits = random_floats(uint64_t(global) * classes, 61, -4, 4);
  const auto labels = random_labels(global, classes, 62);
  const ref::SoftmaxXent want = ref::softmax_xent(global, classes, global, ref::widen(logits), labels);
  for (const auto& sh : shards) {
    const uint32_t rows = sh[1] - sh[0];
    INFO("cross-entropy shard [" << sh[0] << ", " << sh[1] << ")");
    std::vector<float> z(uint64_t(padded) * classes, 0.5f);
    std::copy(logits.begin() + sh[0] * classes, logits.begin() + sh[1] * classes, z.begin());
    std::vector<uint32_t> y(padded, 1);
    std::copy(labels.begin() + sh[0], labels.begin() + sh[1], y.begin());
    const XentResult r = run_xent(padded, classes, rows, z, y, true, -1.0f, nullptr, global);
    const std::vector<double> want_dz(want.dlogits.begin() + sh[0] * classes, want.dlogits.begin() + sh[1] * classes);
    check_close(std::vector<float>(r.dlogits.begin(), r.dlogits.begin() + rows * classes), want_dz, 1e-6 / global,
                1e-5, "dlogits");
    for (uint32_t k = rows * classes; k < padded * classes; ++k) CHECK(r.dlogits[k] == 0.0f);
  }
  for (Pw kind : {Pw::Mse, Pw::Bce}) {
    const PwInputs in = pointwise_inputs(kind, uint64_t(global) * features, 63);
    const ref::PointwiseLoss whole = ref_pointwise(kind, global, features, global, in.y, in.t);
    for (const auto& sh : shards) {
      const uint32_t rows = sh[1] - sh[0];
      INFO((kind == Pw::Mse ? "mse" : "bce") << " shard [" << sh[0] << ", " << sh[1] << ")");
      std::vector<float> y(uint64_t(padded) * features, 0.25f), t(y.size(), 0.75f);
      std::copy(in.y.begin() + sh[0] * features, in.y.begin() + sh[1] * features, y.begin());
      std::copy(in.t.begin() + sh[0] * features, in.t.begin() + sh[1] * features, t.begin());
      const PwResult r = run_pointwise(kind, padded, features, rows, y, t, true, global);
      const std::vector<double> want_g(whole.grad.begin() + sh[0] * features, whole.grad.begin() + sh[1] * features);
      check_close(std::vector<float>(r.grad.begin(), r.grad.begin() + rows * features), want_g,
                  2e-7 / (double(global) * features), 1e-5, "gradient");
      for (uint32_t k = rows * features; k < padded * features; ++k) CHECK(r.grad[k] == 0.0f);
    }
  }
}

}  // namespace fovea::test
