// The test-time corruptions of --test-corrupt (src/data/corrupt.h) against
// the double-precision reference of tests/reference/corrupt.h on a few
// images of odd sizes (grey and RGB), the JPEG round trip of a grey image
// against a baseline JPEG computed from its definition, and the parser's
// messages.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>

#include "data/corrupt.h"
#include "reference/corrupt.h"
#include "util/error.h"

using Catch::Contains;
using fovea::data::Corruption;
using fovea::data::corrupt_image;
using fovea::data::kCorruptionSeed;
using fovea::data::parse_corruptions;

namespace {

// A smooth picture (a bright blob on a gradient, like a garment on a dark
// background) with a little seeded texture: what JPEG is made for.
fovea::ref::Image picture(uint32_t c, uint32_t h, uint32_t w, uint32_t seed) {
  fovea::ref::Image im{c, h, w, std::vector<uint8_t>(size_t(c) * h * w)};
  std::srand(seed);
  for (uint32_t k = 0; k < c; ++k)
    for (uint32_t y = 0; y < h; ++y)
      for (uint32_t x = 0; x < w; ++x) {
        const double dy = (y - h * 0.45) / h, dx = (x - w * 0.55) / w;
        const double v = 30 + 20.0 * k + 180 * std::exp(-8 * (dx * dx + dy * dy)) + 25.0 * x / w + std::rand() % 9;
        im.px[(size_t(k) * h + y) * w + x] = uint8_t(std::min(v, 255.0));
      }
  return im;
}

std::vector<uint8_t> apply(const Corruption& c, uint32_t image, const fovea::ref::Image& im) {
  std::vector<uint8_t> px = im.px;
  corrupt_image(c, image, im.channels, im.height, im.width, px.data());
  return px;
}

const fovea::ref::Image kImages[] = {picture(1, 28, 28, 1), picture(1, 13, 19, 2), picture(3, 11, 9, 3)};

}  // namespace

TEST_CASE("contrast, brightness, salt-and-pepper and translation match the reference", "[corrupt]") {
  uint32_t index = 7;
  for (const auto& im : kImages) {
    ++index;
    for (double f : {0.3, 0.7}) CHECK(apply({"contrast", f}, index, im) == fovea::ref::contrast(im, f).px);
    for (double d : {-0.25, 0.4}) CHECK(apply({"brightness", d}, index, im) == fovea::ref::brightness(im, d).px);
    for (double p : {0.05, 0.3}) {
      const auto got = apply({"saltpepper", p}, index, im);
      CHECK(got == fovea::ref::salt_pepper(im, p, kCorruptionSeed, index).px);
      CHECK(got != im.px);
    }
    for (uint32_t n : {1u, 3u}) {
      const auto got = apply({"translate", double(n)}, index, im);
      CHECK(got == fovea::ref::translate(im, n, kCorruptionSeed, index).px);
      CHECK(got != im.px);
    }
  }
}

TEST_CASE("the corruptions change the images as their severity says", "[corrupt]") {
  const auto& im = kImages[0];
  double spread0 = 0, spread1 = 0, mean0 = 0;
  const auto flat = apply({"contrast", 0.5}, 0, im);
  for (size_t i = 0; i < im.px.size(); ++i) mean0 += im.px[i] / double(im.px.size());
  for (size_t i = 0; i < im.px.size(); ++i) {
    spread0 += std::abs(im.px[i] - mean0);
    spread1 += std::abs(flat[i] - mean0);
  }
  CHECK(spread1 == Approx(spread0 * 0.5).epsilon(0.02));
  CHECK(apply({"contrast", 1}, 0, im) == im.px);
  // Salt and pepper: the fraction over many images, half black, half white.
  size_t hit = 0, white = 0, total = 0;
  for (uint32_t i = 0; i < 200; ++i) {
    const auto got = apply({"saltpepper", 0.2}, i, im);
    for (size_t k = 0; k < got.size(); ++k) {
      total++;
      if (got[k] != im.px[k] && (got[k] == 0 || got[k] == 255)) hit++, white += got[k] == 255;
    }
  }
  CHECK(double(hit) / double(total) == Approx(0.2).margin(0.01));
  CHECK(double(white) / double(hit) == Approx(0.5).margin(0.03));
  // Translation keeps the content, moved: the pixel at (y, x) lands on (y +- 2, x +- 2).
  const auto moved = apply({"translate", 2}, 5, im);
  size_t zeros = 0;
  for (uint8_t v : moved) zeros += v == 0;
  CHECK(zeros == size_t(28 * 2 + 26 * 2));
}

TEST_CASE("JPEG through stb_image_write matches a baseline JPEG computed from its definition", "[corrupt]") {
  for (const auto& im : {kImages[0], kImages[1]}) {
    for (int q : {10, 30, 75}) {
      const auto got = apply({"jpeg", double(q)}, 0, im);
      const auto want = fovea::ref::jpeg_grey(im, q).px;
      double err = 0, damage = 0;
      int worst = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        worst = std::max(worst, std::abs(int(got[i]) - int(want[i])));
        err += std::abs(int(got[i]) - int(want[i]));
        damage += std::abs(int(got[i]) - int(im.px[i]));
      }
      INFO("quality " << q << ", " << im.height << "x" << im.width);
      CHECK(worst <= 2);
      CHECK(err / double(got.size()) < 0.5);
      CHECK(damage / double(got.size()) > 0.5);  // the compression did change the image
    }
  }
  // Quality 100 is nearly lossless; RGB goes through the colour path.
  const auto rgb = apply({"jpeg", 100}, 0, kImages[2]);
  for (size_t i = 0; i < rgb.size(); ++i) CHECK(std::abs(int(rgb[i]) - int(kImages[2].px[i])) <= 4);
}

TEST_CASE("test-corrupt items parse into corruptions, with one clear message per bad item", "[corrupt]") {
  const auto c = parse_corruptions({"jpeg=20", "contrast=0.5", "blur=1", "translate=2", "jpeg=20"}, "--test-corrupt");
  REQUIRE(c.size() == 4);
  CHECK(c[0].name == "jpeg");
  CHECK(c[0].value == 20);
  CHECK(!c[0].on_gpu());
  CHECK(c[2].on_gpu());
  CHECK(c[3].value == 2);
  using fovea::Error;
  CHECK_THROWS_WITH(parse_corruptions({"fog=1"}, "--test-corrupt"), Contains("unknown corruption 'fog'") &&
                                                                        Contains("saltpepper"));
  CHECK_THROWS_WITH(parse_corruptions({"jpeg=0"}, "--test-corrupt"), Contains("the quality, a whole number in [1, 100]"));
  CHECK_THROWS_WITH(parse_corruptions({"translate=1.5"}, "--test-corrupt"), Contains("a whole number"));
  CHECK_THROWS_WITH(parse_corruptions({"contrast=2"}, "--test-corrupt"), Contains("[0, 1], got '2'"));
  CHECK_THROWS_WITH(parse_corruptions({"brightness"}, "--test-corrupt"), Contains("got ''"));
  CHECK_THROWS_WITH(parse_corruptions({"noise=x"}, "--test-corrupt"), Contains("got 'x'"));
}
