// The blur pyramid: every level of a random image set (odd sizes, two
// channels, built in chunks with a partial last one) against the reference
// decode -> blur -> decimate chain, with and without downsampling; and the
// sample grid of `fovea blur` and the report on RGB images, channel by
// channel.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "data/split.h"
#include "gpu/harness.h"
#include "reference/blur.h"
#include "reference/decode.h"
#include "train/pyramid.h"
#include "report/samples.h"
#include "util/error.h"

using namespace fovea;

namespace {

// `count` images of C x H x W random bytes.
data::ImageSet random_set(uint32_t count, uint32_t C, uint32_t H, uint32_t W, uint64_t seed) {
  data::ImageSet set;
  set.count = count;
  set.channels = C;
  set.height = H;
  set.width = W;
  set.images_path = "random";
  data::Rng rng(seed);
  set.pixels.resize(set.count * set.image_bytes());
  for (auto& v : set.pixels) v = uint8_t(rng.below(256));
  return set;
}

}  // namespace

TEST_CASE("blur pyramid levels match the reference chain, built in chunks", "[pyramid]") {
  const data::ImageSet set = random_set(150, 2, 13, 11, 9);
  const uint32_t first = 5, count = 140;  // 3 chunks of 64: 64, 64, 12
  for (bool down : {false, true}) {
    INFO("downsample " << down);
    train::PyramidConfig cfg;
    cfg.sigmas = {0, 0.8, 2.5};
    cfg.downsample = down;
    cfg.mean = {0.3, 0.6};
    cfg.std = {0.25, 0.5};
    cfg.chunk = 64;
    train::BlurPyramid pyr(test::context(), set, first, count, cfg);
    REQUIRE(pyr.levels() == 3);

    const ref::DecodeShape ds{count, 2, 13, 11};
    std::vector<uint8_t> bytes(set.pixels.begin() + first * set.image_bytes(),
                               set.pixels.begin() + (first + count) * set.image_bytes());
    // The kernel standardises with float statistics; so does the reference.
    const ref::Tensor mean = {float(0.3), float(0.6)};
    const ref::Tensor stddev = {1 / double(float(1 / 0.25)), 1 / double(float(1 / 0.5))};
    const ref::Tensor x = ref::decode(ds, count, bytes, mean, stddev);
    for (uint32_t l = 0; l < 3; ++l) {
      INFO("level " << l);
      ref::BlurShape s{count, 2, 13, 11};
      ref::Tensor want = ref::gaussian_blur(s, x, float(cfg.sigmas[l]), true, count);
      for (uint32_t k = 0; down && k < l; ++k) {
        want = ref::downsample2(s, want);
        s = {count, 2, (s.height + 1) / 2, (s.width + 1) / 2};
      }
      CHECK(pyr.shape(l).height == s.height);
      CHECK(pyr.shape(l).width == s.width);
      test::check_close(pyr.download(l), want, 2e-5, 1e-5, "level");
    }
  }
}

TEST_CASE("blur pyramid refuses bad sigmas, ranges and chunks", "[pyramid]") {
  data::ImageSet set;
  set.count = 10;
  set.channels = 1;
  set.height = set.width = 4;
  set.images_path = "tiny";
  set.pixels.assign(160, 7);
  train::PyramidConfig cfg;
  cfg.sigmas = {1, 25};
  CHECK_THROWS_WITH(train::BlurPyramid(test::context(), set, 0, 4, cfg), Catch::Contains("sigma 25"));
  cfg.sigmas = {1};
  CHECK_THROWS_WITH(train::BlurPyramid(test::context(), set, 8, 4, cfg), Catch::Contains("tiny holds 10"));
  cfg.chunk = 100;
  CHECK_THROWS_WITH(train::BlurPyramid(test::context(), set, 0, 4, cfg), Catch::Contains("multiple of 64"));
}

TEST_CASE("the blur grid of RGB images is an RGB picture of each channel blurred on its own", "[pyramid]") {
  const data::ImageSet set = random_set(5, 3, 9, 7, 4);
  report::BlurGridConfig cfg;  // defaults: no scale, no labels
  cfg.sigmas = {0, 1.5};
  cfg.first = 1;
  cfg.count = 3;
  cfg.gap = 2;
  const report::Image grid = report::blur_grid(test::context(), set, cfg);
  REQUIRE(grid.channels == 3);
  REQUIRE(grid.width == 3 * 7 + 4 * 2);
  REQUIRE(grid.height == 2 * 9 + 3 * 2);
  // The reference: pixels / 255 blurred per channel (sigma 0: unchanged).
  const ref::DecodeShape ds{3, 3, 9, 7};
  std::vector<uint8_t> bytes(set.pixels.begin() + set.image_bytes(), set.pixels.begin() + 4 * set.image_bytes());
  const ref::Tensor x = ref::decode(ds, 3, bytes, {0, 0, 0}, {1, 1, 1});
  const ref::Tensor blurred = ref::gaussian_blur({3, 3, 9, 7}, x, 1.5, true, 3);
  double worst = 0;
  for (uint32_t row = 0; row < 2; ++row)
    for (uint32_t n = 0; n < 3; ++n)
      for (uint32_t c = 0; c < 3; ++c)
        for (uint32_t i = 0; i < 9; ++i)
          for (uint32_t j = 0; j < 7; ++j) {
            const size_t gy = 2 + row * (9 + 2) + i, gx = 2 + n * (7 + 2) + j;
            const double got = grid.pixels[(gy * grid.width + gx) * 3 + c];
            const size_t e = ((size_t(n) * 3 + c) * 9 + i) * 7 + j;
            if (row == 0) REQUIRE(got == bytes[e]);
            else worst = std::max(worst, std::fabs(got - 255.0 * blurred[e]));
          }
  CHECK(worst <= 0.5 + 1e-3);  // rounding to u8 only
}
