// adversarial: FGSM and PGD steps on standardised images against the
// reference written in pixel units, on awkward shapes with padding rows and
// zero gradients; PGD staying inside the eps ball and the valid range; the
// per-step choice of clean or adversarial batches against the host's
// Philox; row windows over a lowered storage range; refused settings.
#include <catch2/catch.hpp>

#include <cmath>

#include "gpu/harness.h"
#include "ops/adversarial.h"
#include "ops/op_check.h"
#include "ops/split_check.h"
#include "reference/adversarial.h"
#include "reference/rng.h"
#include "util/error.h"

namespace fovea::test {
namespace {

struct Images {
  ref::AdversarialShape shape;
  std::vector<float> mean, stddev, stats;  // stats: [mean C][1/std C], as decode reads them
  std::vector<float> x0, g;
};

// Standardised images decoded from random bytes, and a gradient with some
// exact zeros (sign(0) = 0 leaves those values where they are).
Images make_images(uint32_t batch, uint32_t channels, uint32_t plane, uint32_t rows, uint64_t seed) {
  Images im{{batch, channels, plane, rows}, {}, {}, {}, {}, {}};
  im.mean = random_floats(channels, seed, 0.2f, 0.6f);
  im.stddev = random_floats(channels, seed + 1, 0.2f, 0.5f);
  im.stats = im.mean;
  for (float s : im.stddev) im.stats.push_back(1.0f / s);
  const uint64_t n = uint64_t(batch) * channels * plane;
  const auto u = random_floats(n, seed + 2, 0.0f, 256.0f);
  for (uint64_t e = 0; e < n; ++e) {
    const uint32_t c = uint32_t(e / plane % channels);
    im.x0.push_back((std::floor(u[e]) / 255.0f - im.mean[c]) * im.stats[channels + c]);
  }
  im.g = random_floats(n, seed + 3);
  for (uint64_t e = 3; e < n; e += 7) im.g[e] = 0.0f;
  return im;
}

ops::AdversarialStep step_of(const Images& im, float eps, float alpha, bool first) {
  ops::AdversarialStep a;
  a.shape = {im.shape.batch, im.shape.channels, 1, im.shape.plane};
  a.eps = eps, a.alpha = alpha, a.first = first;
  return a;
}

// Runs `steps` steps (the first from x0) with the same gradient; returns x.
std::vector<float> run_steps(const Images& im, float eps, float alpha, uint32_t steps, float probability = 1,
                             uint32_t step_index = 0) {
  const uint64_t n = im.x0.size();
  OpRun run;
  auto st = run.tensor("stats", im.stats.size()), x0 = run.tensor("x0", n), g = run.tensor("g", n);
  auto x = run.tensor("x", n);
  run.commit();
  run.set(st, im.stats);
  run.set(x0, im.x0);
  run.set(g, im.g);
  run.set(x, garbage(n, 9));
  for (uint32_t t = 0; t < steps; ++t) {
    ops::AdversarialStep a = step_of(im, eps, alpha, t == 0);
    a.probability = probability;
    ops::record_adversarial_step(run.program(), a, st, x0, g, x, "adversarial." + std::to_string(t));
  }
  nn::StepParams params;
  params.rows = im.shape.rows;
  params.seed = 77;
  params.step = step_index;
  run.run(params);
  return run.get(x, n);
}

ref::Tensor reference_steps(const Images& im, double eps, double alpha, uint32_t steps) {
  ref::Tensor x = ref::widen(im.x0);
  for (uint32_t t = 0; t < steps; ++t)
    x = ref::adversarial_step(im.shape, ref::widen(im.x0), x, ref::widen(im.g), ref::widen(im.mean),
                              ref::widen(im.stddev), eps, alpha);
  return x;
}

}  // namespace

TEST_CASE("fgsm step matches the pixel-unit reference", "[adversarial]") {
  struct Case {
    uint32_t batch, channels, plane, rows;
    float eps;
  };
  uint64_t seed = 20;
  for (Case c : {Case{1, 1, 1, 1, 0.1f}, Case{3, 3, 35, 2, 0.03f}, Case{17, 1, 784, 17, 0.1f},
                 Case{5, 3, 16, 5, 1.0f}, Case{65, 2, 9, 60, 0.25f}, Case{4, 3, 31, 4, 0.0f}}) {
    INFO("batch " << c.batch << ", channels " << c.channels << ", plane " << c.plane << ", rows " << c.rows
                  << ", eps " << c.eps);
    const Images im = make_images(c.batch, c.channels, c.plane, c.rows, seed += 5);
    const auto got = run_steps(im, c.eps, c.eps, 1);
    check_close(got, reference_steps(im, c.eps, c.eps, 1), 2e-6, 1e-6, "x_adv");
    // The step moved some values (eps > 0), left padding rows and zero
    // gradients alone.
    uint64_t moved = 0;
    for (uint64_t e = 0; e < got.size(); ++e) {
      if (got[e] != im.x0[e]) ++moved;
      if (im.g[e] == 0.0f || e / (uint64_t(c.channels) * c.plane) >= c.rows) CHECK(got[e] == im.x0[e]);
    }
    CHECK((moved > 0) == (c.eps > 0));
  }
}

TEST_CASE("pgd steps stay in the eps ball and the valid pixel range", "[adversarial]") {
  const Images im = make_images(9, 3, 50, 8, 40);
  const float eps = 0.05f;
  for (uint32_t steps : {2u, 5u}) {
    INFO(steps << " steps");
    const float alpha = 2.5f * eps / float(steps);
    const auto got = run_steps(im, eps, alpha, steps);
    check_close(got, reference_steps(im, eps, alpha, steps), 2e-6, 1e-6, "x_adv");
    for (uint64_t e = 0; e < got.size(); ++e) {
      const uint32_t c = uint32_t(e / 50 % 3);
      const double p = got[e] * double(im.stddev[c]) + im.mean[c];
      const double p0 = im.x0[e] * double(im.stddev[c]) + im.mean[c];
      CHECK(std::fabs(p - p0) <= eps + 1e-6);
      CHECK(p >= -1e-6);
      CHECK(p <= 1 + 1e-6);
    }
  }
  // Five steps of 2.5 eps / 5 reach the ball's edge where the gradient's
  // sign stays the same: one step of eps from x0, clipped to [0, 1].
  check_close(run_steps(im, eps, 2.5f * eps / 5, 5), reference_steps(im, eps, eps, 1), 2e-6, 1e-6,
              "5 pgd steps of a fixed gradient vs fgsm");
}

TEST_CASE("adversarial step taken with a probability per training step", "[adversarial]") {
  const Images im = make_images(3, 1, 10, 3, 60);
  const ref::Tensor adversarial = reference_steps(im, 0.1, 0.1, 1);
  uint32_t taken = 0;
  for (uint32_t step = 0; step < 24; ++step) {
    INFO("step " << step);
    const bool want = ref::philox_uniform(77, ops::kAdversarialStream, step, 0, 0) < 0.5;
    taken += want;
    const auto got = run_steps(im, 0.1f, 0.1f, 1, 0.5f, step);
    check_close(got, want ? adversarial : ref::widen(im.x0), 2e-6, 1e-6, want ? "adversarial" : "clean");
  }
  CHECK(taken > 0);
  CHECK(taken < 24);
}

TEST_CASE("adversarial step over row windows equals the unsplit run", "[adversarial][split]") {
  const Images im = make_images(150, 2, 9, 140, 80);
  const uint64_t n = im.x0.size();
  auto record = [&](gpu::Program& p, const Views& i, const Views& o) {
    ops::record_adversarial_step(p, step_of(im, 0.1f, 0.1f, true), i[0], i[1], i[2], o[0], "fgsm");
  };
  nn::StepParams params;
  params.rows = 140;
  const Outputs whole = run_op({im.stats, im.x0, im.g}, {n}, 0, record, params);
  const Outputs split = run_op({im.stats, im.x0, im.g}, {n}, kWindowRows * 2 * 9 * 4, record, params);
  check_split(split, whole, {true});
  check_close(split.values[0], reference_steps(im, 0.1, 0.1, 1), 2e-6, 1e-6, "x_adv");
}

TEST_CASE("adversarial step refuses sizes outside the unit interval", "[adversarial]") {
  const Images im = make_images(2, 1, 4, 2, 90);
  OpRun run;
  auto st = run.tensor("stats", 2), x0 = run.tensor("x0", 8), g = run.tensor("g", 8), x = run.tensor("x", 8);
  run.commit();
  CHECK_THROWS_WITH(ops::record_adversarial_step(run.program(), step_of(im, 1.5f, 0.1f, true), st, x0, g, x, "fgsm"),
                    Catch::Contains("fgsm: eps, step and probability must be in [0, 1]"));
  CHECK_THROWS_WITH(ops::record_adversarial_step(run.program(), step_of(im, 0.1f, NAN, true), st, x0, g, x, "fgsm"),
                    Catch::Contains("must be in [0, 1]"));
  ops::AdversarialStep big = step_of(im, 0.1f, 0.1f, true);
  big.shape.batch = 3;
  CHECK_THROWS_WITH(ops::record_adversarial_step(run.program(), big, st, x0, g, x, "fgsm"), Catch::Contains("needs 12"));
}

}  // namespace fovea::test
