// augment: the geometric and pixel kernels and mixing against the double
// reference (same Philox draws) on shapes that are no multiple of the
// workgroup, padding rows left alone, the statistics of the draws (flip
// rate, angle spread, erased area, brightness factor), determinism per
// (seed, step), and a model whose evaluation step never augments.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "data/augment.h"
#include "data/split.h"
#include "gpu/harness.h"
#include "nn/model.h"
#include "ops/augment.h"
#include "ops/op_check.h"
#include "reference/augment.h"

namespace fovea::test {
namespace {

struct Batch {
  ops::AugmentShape shape;
  uint32_t rows;
  std::vector<float> mean, stddev;
  std::vector<float> x;  // standardised pixels in [0.05, 0.95]
};

Batch make_batch(const ops::AugmentShape& s, uint32_t rows, uint64_t seed) {
  Batch b{s, rows, {}, {}, {}};
  for (uint32_t c = 0; c < s.channels; ++c) {
    b.mean.push_back(0.3f + 0.1f * float(c));
    b.stddev.push_back(0.25f + 0.05f * float(c));
  }
  const auto pixels = random_floats(s.count(), seed, 0.05f, 0.95f);
  const uint64_t plane = uint64_t(s.height) * s.width;
  for (uint64_t e = 0; e < s.count(); ++e) {
    const uint32_t c = uint32_t(e / plane % s.channels);
    b.x.push_back((pixels[e] - b.mean[c]) / b.stddev[c]);
  }
  return b;
}

std::vector<float> gpu_augment(const data::AugmentConfig& cfg, const Batch& b, uint32_t seed, uint32_t step,
                               const data::MixDraw& mix = {}) {
  const ops::AugmentShape& s = b.shape;
  OpRun run;
  auto x = run.tensor("x", s.count()), scratch = run.tensor("scratch", s.count());
  auto stats = run.tensor("stats", 2ull * s.channels);
  auto labels = run.tensor("labels", s.batch + data::kMixWords);
  run.commit();
  run.set(x, b.x);
  run.set(scratch, garbage(s.count(), 3));
  std::vector<float> ms(b.mean);
  for (float v : b.stddev) ms.push_back(1.0f / v);
  run.set(stats, ms);
  std::vector<uint32_t> words(s.batch + data::kMixWords, 0);
  std::memcpy(words.data() + s.batch, &mix, sizeof mix);
  run.set_u32(labels, words);
  ops::record_augment(run.program(), s, cfg, x, scratch, stats, labels, "augment");
  nn::StepParams p;
  p.rows = b.rows;
  p.seed = seed;
  p.step = step;
  run.run(p);
  return run.get(x, s.count());
}

ref::Tensor ref_augment(const data::AugmentConfig& cfg, const Batch& b, uint32_t seed, uint32_t step,
                        const data::MixDraw& mix = {}) {
  const ops::AugmentShape& s = b.shape;
  return ref::augment(cfg, ref::widen(b.x), s.batch, s.channels, s.height, s.width, b.rows, seed, step,
                      ref::widen(b.mean), ref::widen(b.stddev), mix);
}

}  // namespace

TEST_CASE("augmentation matches the reference for each item and combined", "[augment]") {
  const Batch b = make_batch({5, 3, 17, 13}, 4, 11);
  struct Case {
    const char* list;
    double atol;
  };
  // Flips and crops move whole pixels: exact. The affine warp computes its
  // map in float (angles, sin/cos), ~1e-6 pixel off the double one; pixel
  // ops round-trip through pixel units (~1e-6).
  for (Case c : {Case{"flip", 0}, Case{"vflip:0.7", 0}, Case{"crop:3", 0}, Case{"flip,vflip,crop:5", 0},
                 Case{"rotate:30", 2e-5}, Case{"translate:0.2", 2e-5}, Case{"scale:0.6-1.4", 2e-5},
                 Case{"scale:0.3", 2e-5}, Case{"shear:20", 2e-5},
                 Case{"rotate:20,translate:0.1,scale:0.2,shear:10,flip,crop:2", 2e-5},
                 Case{"brightness:0.4", 1e-5}, Case{"contrast:0.6", 1e-5}, Case{"noise:0.1", 2e-5},
                 Case{"cutout:6", 1e-5}, Case{"erase:1", 1e-5}, Case{"erase", 1e-5},
                 Case{"rotate:15,crop:2,brightness:0.3,contrast:0.3,noise:0.05,cutout:5,erase:0.7", 3e-5}}) {
    const data::AugmentConfig cfg = data::parse_augment(c.list);
    for (uint32_t step : {0u, 7u}) {
      INFO(c.list << ", step " << step);
      const auto got = gpu_augment(cfg, b, 99, step);
      const auto want = ref_augment(cfg, b, 99, step);
      check_close(got, want, c.atol, 1e-6, "augmented batch");
      // Something changed in the valid rows (every case alters some image
      // at one of the two steps, checked here per step where it must).
      double moved = 0;
      for (uint64_t e = 0; e < uint64_t(b.rows) * b.shape.features(); ++e) moved += std::fabs(want[e] - b.x[e]);
      if (std::string(c.list) != "flip" && std::string(c.list) != "vflip:0.7") CHECK(moved > 0);
      // The padding row is exactly what was there.
      for (uint64_t e = uint64_t(b.rows) * b.shape.features(); e < b.shape.count(); ++e)
        REQUIRE(got[e] == b.x[e]);
    }
  }
}

TEST_CASE("mixup and cutmix mix each row with its partner as the reference does", "[augment][mix]") {
  const Batch b = make_batch({6, 2, 11, 9}, 5, 21);
  for (const char* list : {"mixup:0.4", "cutmix:1", "mixup:0.4,rotate:10,brightness:0.2,erase:1"}) {
    const data::AugmentConfig cfg = data::parse_augment(list);
    for (uint32_t step : {0u, 3u}) {
      INFO(list << ", step " << step);
      const data::MixDraw mix = data::draw_mix(cfg, 5, step, b.rows, b.shape.height, b.shape.width);
      REQUIRE(mix.mode != 0);
      const auto got = gpu_augment(cfg, b, 5, step, mix);
      check_close(got, ref_augment(cfg, b, 5, step, mix), 3e-5, 1e-6, "mixed batch");
      // Against the unmixed images: mixing changed them.
      data::AugmentConfig unmixed = cfg;
      unmixed.mixup_alpha = unmixed.cutmix_alpha = 0;
      const auto alone = ref_augment(unmixed, b, 5, step);
      double diff = 0;
      for (uint64_t e = 0; e < uint64_t(b.rows) * b.shape.features(); ++e) diff += std::fabs(got[e] - alone[e]);
      CHECK(diff > 1e-2);
    }
  }
}

TEST_CASE("the per-image draws pass makes each image's parameters as the reference draws them", "[augment][draws]") {
  // 70 rows: two workgroups, the second partly idle.
  const ops::AugmentShape s{70, 2, 19, 23};
  const data::AugmentConfig cfg =
      data::parse_augment("rotate:25,translate:0.15,scale:0.7-1.3,shear:12,flip,vflip:0.3,crop:3,brightness:0.4,"
                          "contrast:0.5,cutout:7,erase:0.8,mixup:0.3");
  const uint32_t seed = 17, step = 5;
  const data::MixDraw mix = data::draw_mix(cfg, seed, step, s.batch, s.height, s.width);
  OpRun run;
  auto stats = run.tensor("stats", 2ull * s.channels);
  auto labels = run.tensor("labels", s.batch + data::kMixWords);
  auto draws = run.tensor("draws", ops::augment_draws_words(s));
  run.commit();
  const std::vector<float> ms = {0.3f, 0.4f, 1.0f / 0.25f, 1.0f / 0.3f};
  run.set(stats, ms);
  std::vector<uint32_t> words(s.batch + data::kMixWords, 7);
  std::memcpy(words.data() + s.batch, &mix, sizeof mix);
  run.set_u32(labels, words);
  run.set(draws, garbage(ops::augment_draws_words(s), 4));
  ops::record_augment_draws(run.program(), s, cfg, stats, labels, draws, "draws");
  nn::StepParams p;
  p.rows = s.batch;
  p.seed = seed;
  p.step = step;
  run.run(p);
  const std::vector<float> got = run.get(draws, ops::augment_draws_words(s));
  auto word = [&](uint64_t i) {
    uint32_t w;
    std::memcpy(&w, &got[i], 4);
    return w;
  };
  for (uint32_t c = 0; c < 2 * s.channels; ++c) CHECK(got[c] == ms[c]);
  for (uint32_t k = 0; k < data::kMixWords; ++k) CHECK(word(2 * s.channels + k) == words[s.batch + k]);
  const double pi = 3.14159265358979323846;
  uint32_t erased = 0, flipped = 0;
  for (uint32_t row = 0; row < s.batch; ++row) {
    INFO("row " << row);
    const ref::ImageDraw want = ref::image_draw(cfg, seed, step, row, s.height, s.width);
    const uint64_t d = ops::augment_draws_header(s) + uint64_t(row) * ops::kAugmentDrawWords;
    const double theta = want.theta_deg * pi / 180;
    CHECK(std::fabs(got[d + 0] - std::cos(theta)) < 1e-5);
    CHECK(std::fabs(got[d + 1] - std::sin(theta)) < 1e-5);
    CHECK(std::fabs(got[d + 2] - std::tan(want.shear_deg * pi / 180)) < 1e-5);
    CHECK(std::fabs(got[d + 3] - want.tx) < 1e-5);
    CHECK(std::fabs(got[d + 4] - want.ty) < 1e-5);
    CHECK(std::fabs(got[d + 5] - want.scale) < 1e-6);
    CHECK(word(d + 6) == uint32_t(want.hflip));
    CHECK(word(d + 7) == uint32_t(want.vflip));
    CHECK(got[d + 8] == float(want.crop_dx));
    CHECK(got[d + 9] == float(want.crop_dy));
    CHECK(std::fabs(got[d + 10] - want.brightness) < 1e-6);
    CHECK(std::fabs(got[d + 11] - want.contrast) < 1e-6);
    CHECK(int32_t(word(d + 12)) == want.cutout_y0);
    CHECK(int32_t(word(d + 13)) == want.cutout_x0);
    const bool erase = want.erase;
    CHECK(int32_t(word(d + 14)) == (erase ? want.erase_top : 0));
    CHECK(int32_t(word(d + 15)) == (erase ? want.erase_left : 0));
    CHECK(int32_t(word(d + 16)) == (erase ? want.erase_h : 0));
    CHECK(int32_t(word(d + 17)) == (erase ? want.erase_w : 0));
    erased += erase;
    flipped += want.hflip;
  }
  // The draws vary across rows (the comparison above is not vacuous).
  CHECK(erased > 0);
  CHECK(erased < s.batch);
  CHECK(flipped > 0);
  CHECK(flipped < s.batch);
}

TEST_CASE("augmentation is the same for the same seed and step and differs otherwise", "[augment]") {
  const Batch b = make_batch({5, 1, 13, 11}, 5, 31);
  const data::AugmentConfig cfg = data::parse_augment("rotate:20,crop:2,flip,noise:0.05,erase:0.8");
  const auto a = gpu_augment(cfg, b, 4, 10);
  check_close(gpu_augment(cfg, b, 4, 10), ref::widen(a), 0, 0, "same seed and step");
  for (auto [seed, step] : {std::pair{4u, 11u}, std::pair{5u, 10u}}) {
    const auto other = gpu_augment(cfg, b, seed, step);
    uint64_t differ = 0;
    for (size_t e = 0; e < a.size(); ++e) differ += other[e] != a[e];
    INFO("seed " << seed << ", step " << step);
    CHECK(differ > a.size() / 2);
  }
}

TEST_CASE("flip rate, erased area and brightness factor have the configured distribution", "[augment][stats]") {
  const uint32_t N = 400;
  // A horizontal ramp: flipped images run the other way.
  Batch b{{N, 1, 6, 7}, N, {0.5f}, {0.25f}, {}};
  for (uint32_t n = 0; n < N; ++n)
    for (uint32_t i = 0; i < 6 * 7; ++i) b.x.push_back((0.1f + 0.1f * float(i % 7) - 0.5f) / 0.25f);
  uint32_t flipped = 0;
  for (uint32_t step : {0u, 1u}) {
    const auto got = gpu_augment(data::parse_augment("hflip:0.3"), b, 8, step);
    for (uint32_t n = 0; n < N; ++n) flipped += got[n * 42] > got[n * 42 + 6];
  }
  // 800 images, p 0.3: mean 240, sd 13.
  CHECK(std::abs(double(flipped) - 240) < 52);

  // Erase with p 0.5 on 32 x 32 images: about half erased, each by a box of
  // 2% to 33% of the area (rounding of h and w widens it a little).
  Batch e = make_batch({N, 1, 32, 32}, N, 41);
  const auto erased = gpu_augment(data::parse_augment("erase:0.5"), e, 9, 0);
  const float black = -e.mean[0] / e.stddev[0];
  uint32_t images = 0;
  for (uint32_t n = 0; n < N; ++n) {
    uint32_t count = 0;
    for (uint32_t i = 0; i < 1024; ++i) count += std::fabs(erased[n * 1024 + i] - black) < 1e-6f;
    if (count == 0) continue;
    ++images;
    INFO("image " << n << ": " << count << " erased pixels");
    CHECK(count >= 16);
    CHECK(count <= 380);
  }
  CHECK(std::abs(double(images) - 200) < 40);  // sd 10

  // Brightness 0.5 on a constant pixel 0.4: factor uniform in [0.5, 1.5].
  Batch c{{N, 1, 3, 5}, N, {0.5f}, {0.25f}, std::vector<float>(N * 15, (0.4f - 0.5f) / 0.25f)};
  const auto bright = gpu_augment(data::parse_augment("brightness:0.5"), c, 10, 0);
  double sum = 0;
  for (uint32_t n = 0; n < N; ++n) {
    const double f = (bright[n * 15] * 0.25 + 0.5) / 0.4;
    CHECK(f >= 0.5 - 1e-5);
    CHECK(f <= 1.5 + 1e-5);
    sum += f;
  }
  CHECK(std::abs(sum / N - 1) < 0.06);  // sd of the mean 0.014
}

TEST_CASE("rotation angles, shifts and scales are uniform over their ranges", "[augment][stats]") {
  const data::AugmentConfig cfg = data::parse_augment("rotate:10,translate:0.1,scale:0.8-1.2");
  double sum = 0, sq = 0, lo = 1e9, hi = -1e9, scale_sum = 0;
  const uint32_t N = 4000;
  for (uint32_t row = 0; row < N; ++row) {
    const ref::ImageDraw d = ref::image_draw(cfg, 3, row / 100, row % 100, 28, 28);
    sum += d.theta_deg;
    sq += d.theta_deg * d.theta_deg;
    lo = std::min(lo, d.theta_deg);
    hi = std::max(hi, d.theta_deg);
    CHECK(std::fabs(d.tx) <= 2.8);
    CHECK(d.scale >= 0.8);
    CHECK(d.scale <= 1.2);
    scale_sum += d.scale;
  }
  // U[-10, 10]: mean 0 (sd of the mean 0.09), variance 100 / 3.
  CHECK(std::fabs(sum / N) < 0.4);
  CHECK(sq / N == Approx(100.0 / 3).epsilon(0.06));
  CHECK(lo >= -10);
  CHECK(lo < -9.8);
  CHECK(hi <= 10);
  CHECK(hi > 9.8);
  CHECK(scale_sum / N == Approx(1.0).epsilon(0.01));
}

TEST_CASE("a model augments its training step only", "[augment][model]") {
  const nn::ModelSpec spec = nn::parse_model_spec_text(
      R"({"input": [1, 9, 7], "classes": 3, "layers": [{"type": "flatten"}, {"type": "dense", "units": 3}]})",
      "tiny.json");
  nn::ModelOptions o;
  o.batch = 4;
  o.slots = 1;
  o.channel_mean = {0.5};
  o.channel_std = {0.25};
  o.augment = data::parse_augment("flip,rotate:10,erase,mixup:0.2");
  nn::Model model(context(), spec, o);
  auto has = [](gpu::Program& p, const std::string& what) {
    for (const auto& d : p.dispatches())
      if (d.label.find(what) != std::string::npos) return true;
    return false;
  };
  CHECK(has(model.train_program(), "input.augment.geometry"));
  CHECK(has(model.train_program(), "input.augment.pixel"));
  CHECK_FALSE(has(model.eval_program(), "augment"));
  CHECK(model.labels_ring().size >= 4ull * (o.batch + data::kMixWords));
  CHECK_THROWS_WITH(data::parse_augment("rotate:abc"), Catch::Contains("--augment: 'rotate:abc'"));
}

}  // namespace fovea::test
