// noise: the seeded Gaussian noise of robustness evaluation against the
// reference (same integer hashes), its statistics, and its independence
// from how the images are batched.
#include <catch2/catch.hpp>

#include <cmath>

#include "gpu/harness.h"
#include "ops/noise.h"
#include "ops/op_check.h"
#include "reference/noise.h"

namespace fovea::test {
namespace {

std::vector<float> gpu_noise(const ops::BlurShape& s, const std::vector<float>& in,
                             const std::vector<float>& stats, const nn::StepParams& p, uint32_t seed) {
  OpRun run;
  auto x = run.tensor("x", s.count()), st = run.tensor("stats", stats.size());
  run.commit();
  run.set(x, in);
  run.set(st, stats);
  ops::record_gaussian_noise(run.program(), s, seed, x, st, "noise");
  run.run(p);
  return run.get(x, s.count());
}

}  // namespace

TEST_CASE("gaussian noise matches the reference and skips padding rows", "[noise]") {
  const ops::BlurShape s{5, 3, 7, 5};
  auto in = random_floats(s.count(), 1);
  const std::vector<float> stats = {0.1f, 0.2f, 0.3f, 1 / 0.5f, 1 / 0.25f, 1 / 2.0f};
  const ref::Tensor stddev = {1 / double(stats[3]), 1 / double(stats[4]), 1 / double(stats[5])};
  nn::StepParams p;
  p.rows = 4;
  p.first_image = 1000;
  p.noise_std = 0.2f;
  auto got = gpu_noise(s, in, stats, p, 77);
  // z ~ 4 at most here; float log/cos of the same uniforms agree to ~1e-6.
  check_close(got, ref::gaussian_noise(ref::widen(in), 5, 3, 35, 4, 1000, 77, 0.2, stddev), 2e-5, 1e-5,
              "x + noise");
  p.noise_std = 0;
  check_close(gpu_noise(s, in, stats, p, 77), ref::widen(in), 0, 0, "noise_std 0 is the identity");
}

TEST_CASE("gaussian noise has the requested spread and does not depend on batching", "[noise]") {
  const ops::BlurShape s{64, 1, 40, 40};
  std::vector<float> zeros(s.count(), 0.0f), stats = {0.0f, 1 / 0.5f};
  nn::StepParams p;
  p.rows = s.batch;
  p.noise_std = 0.1f;
  auto got = gpu_noise(s, zeros, stats, p, 5);
  double sum = 0, sq = 0;
  for (float v : got) {
    sum += v;
    sq += double(v) * v;
  }
  const double n = double(got.size()), mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  // std / 0.5 = 0.2 in standardised units; 102,400 samples: the mean's
  // standard error is 6e-4 and the std's 4e-4.
  CHECK(std::abs(mean) < 3e-3);
  CHECK(sd == Approx(0.2).epsilon(0.01));
  // Image 10 alone in a batch of one gets the same noise as row 10 above.
  const ops::BlurShape one{1, 1, 40, 40};
  nn::StepParams q = p;
  q.rows = 1;
  q.first_image = 10;
  auto alone = gpu_noise(one, std::vector<float>(one.count(), 0.0f), stats, q, 5);
  std::vector<float> row10(got.begin() + 10 * 1600, got.begin() + 11 * 1600);
  check_close(alone, ref::widen(row10), 0, 0, "image 10");
}

}  // namespace fovea::test
