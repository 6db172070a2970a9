// loss: MSE and BCE with logits of a classifier against one-hot labels (the
// model spec's "mse" and "bce_with_logits" losses): per-row loss, argmax
// correctness, the gradient of the mean over valid rows, zeros for padding
// rows, and the gradient against finite differences of the reference.
#include <catch2/catch.hpp>

#include "gpu/harness.h"
#include "ops/loss.h"
#include "ops/loss_check.h"
#include "ops/op_check.h"
#include "reference/loss.h"

namespace fovea::test {
namespace {

struct OnehotResult {
  std::vector<float> loss, correct, grad;
};

OnehotResult run_onehot(bool bce, uint32_t batch, uint32_t classes, uint32_t rows, const std::vector<float>& y,
                        const std::vector<uint32_t>& labels, bool gradient) {
  const uint64_t n = uint64_t(batch) * classes;
  OpRun run;
  auto vy = run.tensor("y", n), vl = run.tensor("labels", batch), vg = run.tensor("dy", n);
  auto stats = run.tensor("stats", 2ull * batch);
  run.commit();
  run.set(vy, y);
  run.set_u32(vl, labels);
  run.set(vg, garbage(n, 11));
  run.set(stats, garbage(2ull * batch, 12));
  ops::record_onehot_loss(run.program(), bce ? ops::OnehotLoss::BceWithLogits : ops::OnehotLoss::Mse, batch,
                         classes, vy, vl, vg, stats, gradient, bce ? "bce" : "mse");
  nn::StepParams params;
  params.rows = rows;
  run.run(params);
  OnehotResult r;
  split_stats(run.get(stats, 2ull * batch), batch, r.loss, r.correct);
  r.grad = run.get(vg, n);
  return r;
}

}  // namespace

TEST_CASE("mse and bce against one-hot labels match the reference, argmax accuracy", "[loss][onehot]") {
  struct Case {
    uint32_t batch, classes, rows;
  };
  uint64_t seed = 300;
  for (bool bce : {false, true})
    for (Case c : {Case{1, 2, 1}, Case{13, 10, 13}, Case{67, 7, 61}, Case{5, 1001, 4}}) {
      INFO((bce ? "bce" : "mse") << ", batch " << c.batch << ", classes " << c.classes << ", rows " << c.rows);
      seed += 3;
      const auto y = random_floats(uint64_t(c.batch) * c.classes, seed, -4, 4);
      const auto labels = random_labels(c.batch, c.classes, seed + 1);
      const OnehotResult r = run_onehot(bce, c.batch, c.classes, c.rows, y, labels, true);
      const ref::PointwiseLoss want = ref::onehot_loss(bce, c.batch, c.classes, c.rows, ref::widen(y), labels);
      check_close(r.loss, want.loss, 1e-6, 1e-5, "loss");
      check_close(r.correct, want.correct, 0.0, 0.0, "correct");
      check_close(r.grad, want.grad, 2e-7 / (double(c.rows) * c.classes), 1e-5, "gradient");
      for (uint32_t b = c.rows; b < c.batch; ++b) CHECK(r.loss[b] == 0.0f);
    }
}

TEST_CASE("one-hot mse and bce: correct is the first maximum at the label", "[loss][onehot]") {
  // Row 0: maximum at the label; row 1: a tie whose first maximum is not the
  // label; row 2: every output negative, maximum at the label (BCE's
  // exact-match rule would say 0 here).
  const std::vector<float> y = {0.1f, 0.9f, 0.2f, 0.5f, 0.5f, 0.1f, -3.0f, -0.5f, -2.0f};
  const std::vector<uint32_t> labels = {1, 1, 1};
  for (bool bce : {false, true}) {
    INFO((bce ? "bce" : "mse"));
    check_close(run_onehot(bce, 3, 3, 3, y, labels, false).correct, {1, 0, 1}, 0.0, 0.0, "correct");
  }
}

TEST_CASE("one-hot mse and bce gradients equal finite differences", "[loss][onehot][gradient]") {
  const uint32_t batch = 7, classes = 5, rows = 6;
  for (bool bce : {false, true}) {
    INFO((bce ? "bce" : "mse"));
    const auto y = random_floats(uint64_t(batch) * classes, bce ? 350 : 351, -3, 3);
    const auto labels = random_labels(batch, classes, 352);
    const OnehotResult r = run_onehot(bce, batch, classes, rows, y, labels, true);
    auto loss = [&](const ref::Tensor& v) {
      return ref::mean_rows(ref::onehot_loss(bce, batch, classes, rows, v, labels).loss, rows);
    };
    check_finite_differences(r.grad, ref::widen(y), loss, 1e-3, 400, 1e-8, 1e-4, "grad");
  }
}

TEST_CASE("one-hot losses refuse a single class", "[loss][onehot]") {
  OpRun run;
  auto v = run.tensor("y", 4), l = run.tensor("labels", 4), s = run.tensor("stats", 8);
  run.commit();
  CHECK_THROWS_WITH(ops::record_onehot_loss(run.program(), ops::OnehotLoss::Mse, 4, 1, v, l, v, s, true, "mse"),
                    Catch::Contains("classes must be in 2..16384"));
}

}  // namespace fovea::test
