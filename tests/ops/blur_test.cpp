// blur: the input blur of progressive sharpening and the feature-map
// smoothing against the double reference, on odd sizes, several channels,
// partial batches, replayed rows and sigma from 0.3 to 8 (radius larger
// than the image included); the identity at sigma 0; constant images stay
// constant; interior mass is preserved; the feature smoothing's backward
// (the same operator, applied to the gradient) against finite differences;
// and the pyramid's decimation.
#include <catch2/catch.hpp>

#include <numeric>

#include "gpu/harness.h"
#include "ops/blur.h"
#include "ops/op_check.h"
#include "reference/blur.h"

namespace fovea::test {
namespace {

struct Blurred {
  std::vector<float> x;  // after the GPU blur
  std::vector<float> in;
};

// Runs record_blur once on `in` with the given step parameters.
std::vector<float> gpu_blur(const ops::BlurShape& s, ops::BlurKind kind, double replay,
                            const std::vector<float>& in, const nn::StepParams& params) {
  OpRun run;
  auto x = run.tensor("x", s.count()), scratch = run.tensor("scratch", s.count());
  run.commit();
  run.set(x, in);
  run.set(scratch, garbage(s.count(), 7));
  ops::record_blur(run.program(), s, kind, replay, x, scratch, "blur");
  run.run(params);
  return run.get(x, s.count());
}

ref::BlurShape wide(const ops::BlurShape& s) { return {s.batch, s.channels, s.height, s.width}; }

}  // namespace

TEST_CASE("image blur matches the reference for sigma 0.3 to 8 on odd shapes", "[blur]") {
  const ops::BlurShape shapes[] = {{3, 2, 7, 5}, {1, 1, 28, 28}, {2, 3, 4, 9}, {2, 1, 1, 6}};
  for (const auto& s : shapes)
    for (double sigma : {0.3, 0.7, 1.0, 2.5, 4.0, 8.0}) {
      INFO("shape [" << s.batch << ", " << s.channels << ", " << s.height << ", " << s.width
                     << "], sigma " << sigma);
      auto in = random_floats(s.count(), uint64_t(s.count() + sigma * 10));
      nn::StepParams p;
      p.rows = s.batch;
      p.blur_sigma = float(sigma);
      auto got = gpu_blur(s, ops::BlurKind::Image, 0.0, in, p);
      check_close(got, ref::gaussian_blur(wide(s), ref::widen(in), float(sigma), true, s.batch), 2e-6,
                  1e-5, "blurred");
    }
}

TEST_CASE("image blur leaves padding rows and replayed rows original", "[blur]") {
  const ops::BlurShape s{8, 2, 6, 5};
  auto in = random_floats(s.count(), 11);
  nn::StepParams p;
  p.rows = 7;  // one padding row
  p.blur_sigma = 1.5f;
  // replay 0.3 of 7 rows: round(2.1) = 2 rows stay original, 5 are blurred.
  auto got = gpu_blur(s, ops::BlurKind::Image, 0.3, in, p);
  check_close(got, ref::gaussian_blur(wide(s), ref::widen(in), 1.5f, true, 5), 2e-6, 1e-5,
              "first 5 rows blurred, the rest original");
}

TEST_CASE("sigma 0 is the identity for both blur kinds", "[blur]") {
  const ops::BlurShape s{3, 2, 5, 7};
  auto in = random_floats(s.count(), 12);
  nn::StepParams p;
  p.rows = s.batch;
  check_close(gpu_blur(s, ops::BlurKind::Image, 0.0, in, p), ref::widen(in), 0, 0, "image sigma 0");
  check_close(gpu_blur(s, ops::BlurKind::Feature, 0.0, in, p), ref::widen(in), 0, 0, "feature sigma 0");
}

TEST_CASE("a constant image stays constant and interior mass is preserved", "[blur]") {
  const ops::BlurShape s{2, 3, 9, 11};
  nn::StepParams p;
  p.rows = s.batch;
  p.blur_sigma = 2.0f;
  std::vector<float> constant(s.count());
  for (uint64_t i = 0; i < s.count(); ++i) constant[i] = 0.25f + float(i / (9 * 11));  // per plane
  check_close(gpu_blur(s, ops::BlurKind::Image, 0.0, constant, p), ref::widen(constant), 1e-6, 1e-6,
              "constant planes");

  // A random blob at least 3 sigma = 6 pixels from every border, in a 25 x
  // 27 plane: reflection never reaches it, so the plane's sum is kept.
  const ops::BlurShape m{1, 2, 25, 27};
  std::vector<float> blob(m.count(), 0.0f);
  auto noise = random_floats(m.count(), 13, 0.0f, 1.0f);
  for (uint32_t c = 0; c < 2; ++c)
    for (uint32_t i = 8; i < 17; ++i)
      for (uint32_t j = 8; j < 19; ++j) blob[(c * 25 + i) * 27 + j] = noise[(c * 25 + i) * 27 + j];
  auto got = gpu_blur(m, ops::BlurKind::Image, 0.0, blob, p);
  for (uint32_t c = 0; c < 2; ++c) {
    double before = 0, after = 0;
    for (uint32_t i = 0; i < 25 * 27; ++i) {
      before += blob[c * 25 * 27 + i];
      after += got[c * 25 * 27 + i];
    }
    INFO("channel " << c);
    CHECK(after == Approx(before).epsilon(1e-5));
  }
}

TEST_CASE("feature smoothing matches the reference and is its own backward", "[blur]") {
  const ops::BlurShape s{3, 5, 7, 6};
  for (double sigma : {0.4, 1.0, 3.0}) {
    INFO("sigma " << sigma);
    auto in = random_floats(s.count(), uint64_t(20 + sigma * 10));
    nn::StepParams p;
    p.rows = s.batch;
    p.feature_sigma = float(sigma);
    p.blur_sigma = 5.0f;  // must not matter
    auto got = gpu_blur(s, ops::BlurKind::Feature, 0.0, in, p);
    const ref::Tensor want = ref::gaussian_blur(wide(s), ref::widen(in), float(sigma), false, s.batch);
    check_close(got, want, 1e-6, 1e-5, "smoothed");
    // L(x) = sum g * S(x): dL/dx = S^T g, which the model computes as S(g).
    auto g = random_floats(s.count(), uint64_t(30 + sigma * 10));
    auto backward = gpu_blur(s, ops::BlurKind::Feature, 0.0, g, p);
    const ref::Tensor gw = ref::widen(g);
    auto L = [&](const ref::Tensor& x) {
      const ref::Tensor y = ref::gaussian_blur(wide(s), x, float(sigma), false, s.batch);
      return std::inner_product(y.begin(), y.end(), gw.begin(), 0.0);
    };
    check_finite_differences(backward, ref::widen(in), L, 1e-3, 300, 1e-5, 1e-4, "dL/dx");
  }
}

TEST_CASE("pyramid decimation keeps every second pixel of odd and even sizes", "[blur]") {
  for (ops::BlurShape s : {ops::BlurShape{2, 3, 7, 5}, ops::BlurShape{1, 1, 28, 28}, ops::BlurShape{3, 2, 1, 4}}) {
    const uint64_t out = uint64_t(s.batch) * s.channels * ((s.height + 1) / 2) * ((s.width + 1) / 2);
    auto in = random_floats(s.count(), s.count());
    OpRun run;
    auto x = run.tensor("x", s.count()), y = run.tensor("y", out);
    run.commit();
    run.set(x, in);
    run.set(y, garbage(out, 3));
    ops::record_downsample2(run.program(), s, x, y, "down");
    run.run();
    check_close(run.get(y, out), ref::downsample2(wide(s), ref::widen(in)), 0, 0, "decimated");
  }
}

TEST_CASE("blur refuses a bad replay fraction and a too small scratch", "[blur]") {
  const ops::BlurShape s{2, 1, 4, 4};
  OpRun run;
  auto x = run.tensor("x", s.count()), small = run.tensor("small", 5);
  run.commit();
  CHECK_THROWS_WITH(ops::record_blur(run.program(), s, ops::BlurKind::Image, 1.5, x, x, "blur"),
                    Catch::Contains("replay"));
  CHECK_THROWS_WITH(ops::record_blur(run.program(), s, ops::BlurKind::Image, 0, x, small, "blur"),
                    Catch::Contains("small"));
}

}  // namespace fovea::test
