// The report's image helpers (enlarging, the bitmap font, row labels,
// short numbers) and the blur-sigma curve the report draws.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "report/image.h"
#include "report/sigma_curve.h"
#include "util/error.h"

using Catch::Contains;
using namespace fovea::report;

namespace {

uint8_t at(const Image& img, uint32_t x, uint32_t y, uint32_t c = 0) {
  return img.pixels[(size_t(y) * img.width + x) * img.channels + c];
}

Image filled(uint32_t w, uint32_t h, uint32_t channels, uint8_t value) {
  return Image{w, h, channels, std::vector<uint8_t>(size_t(w) * h * channels, value)};
}

}  // namespace

TEST_CASE("report: short_number rounds to two decimals and drops trailing zeros", "[report]") {
  CHECK(short_number(0.666667) == "0.67");
  CHECK(short_number(1.3333333) == "1.33");
  CHECK(short_number(2) == "2");
  CHECK(short_number(0.5) == "0.5");
  CHECK(short_number(0) == "0");
  CHECK(short_number(-0.001) == "0");
  CHECK(short_number(12.5) == "12.5");
  CHECK(short_number(0.125, 3) == "0.125");
}

TEST_CASE("report: scale_nearest repeats every pixel in a block", "[report]") {
  Image in{2, 2, 3, {}};
  for (uint8_t v = 0; v < 12; ++v) in.pixels.push_back(uint8_t(10 * v + 1));
  const Image out = scale_nearest(in, 3);
  REQUIRE(out.width == 6);
  REQUIRE(out.height == 6);
  REQUIRE(out.channels == 3);
  for (uint32_t y = 0; y < 6; ++y)
    for (uint32_t x = 0; x < 6; ++x)
      for (uint32_t c = 0; c < 3; ++c) CHECK(at(out, x, y, c) == at(in, x / 3, y / 3, c));
  CHECK(scale_nearest(in, 1).pixels == in.pixels);
  CHECK_THROWS_WITH(scale_nearest(in, 0), Contains("scale factor 0"));
}

TEST_CASE("report: draw_text draws the glyphs, clips at the border and refuses unknown characters", "[report]") {
  Image img = filled(20, 9, 1, 0);
  CHECK(text_width("1", 1) == 5);
  CHECK(text_width("10", 1) == 11);
  CHECK(text_width("10", 2) == 22);
  CHECK(text_width("", 1) == 0);
  draw_text(img, 1, 1, "1", 1, 255);
  // The '1': a vertical stem in its middle column, a foot three wide.
  for (uint32_t y = 1; y < 8; ++y) CHECK(at(img, 3, y) == 255);
  CHECK(at(img, 2, 7) == 255);
  CHECK(at(img, 4, 7) == 255);
  CHECK(at(img, 1, 4) == 0);
  CHECK(at(img, 0, 0) == 0);
  size_t lit = 0;
  for (uint8_t p : img.pixels) lit += p == 255;
  CHECK(lit == 10);  // the glyph's pixels, rows 1 + 2 + 1 + 1 + 1 + 1 + 3
  Image small = filled(4, 4, 3, 7);
  draw_text(small, -2, -3, "8", 2, 200);  // mostly outside: no crash, some pixels inside
  size_t drawn = 0;
  for (uint8_t p : small.pixels) drawn += p == 200;
  CHECK(drawn > 0);
  CHECK(drawn % 3 == 0);  // every channel of a pixel
  CHECK_THROWS_WITH(draw_text(img, 0, 0, "2x", 1, 255), Contains("no glyph"));
  CHECK_NOTHROW(draw_text(img, 0, 0, "\u03c3=0.67 -1", 1, 255));
}

TEST_CASE("report: label_rows adds a margin with each row's label beside its band", "[report]") {
  // Three rows 10 pixels high, 12 apart, starting at y = 2, in grey 128.
  const Image grid = filled(30, 38, 1, 128);
  const std::vector<std::string> labels = {"\u03c3=0", "\u03c3=0.67", "\u03c3=2"};
  const Image out = label_rows(grid, labels, 2, 12, 10, 1);
  const uint32_t margin = text_width("\u03c3=0.67", 1) + 6;
  REQUIRE(out.width == grid.width + margin);
  REQUIRE(out.height == grid.height);
  // The grid is copied to the right of the margin.
  for (uint32_t y = 0; y < grid.height; ++y)
    for (uint32_t x = 0; x < grid.width; ++x) CHECK(at(out, margin + x, y) == at(grid, x, y));
  // Each band holds white text, and the rows between bands none.
  for (uint32_t r = 0; r < 3; ++r) {
    size_t white = 0;
    for (uint32_t y = 2 + 12 * r; y < 2 + 12 * r + 10; ++y)
      for (uint32_t x = 0; x < margin; ++x) white += at(out, x, y) == 255;
    CHECK(white > 10);
  }
  for (uint32_t x = 0; x < margin; ++x) CHECK(at(out, x, 0) == 128);
  // A longer label makes the margin wider.
  CHECK(label_rows(grid, {"\u03c3=10.25"}, 2, 12, 10, 1).width > out.width);
}

TEST_CASE("report: sigma_curve, a step schedule per step: levels where the steps change them", "[report]") {
  // step, sigma0 2, 3 levels over the default 3 of 4 epochs, 1000 images, batch 128: a level per epoch.
  ScheduleRecord r{"step", 2.0, -1, 3, 4, 1000, 128};
  SigmaCurve c = sigma_curve(r, "step", {2, 1.3333, 0.6667, 0});
  CHECK(c.per_step);
  CHECK(c.steps);
  CHECK(c.x_end == 4);
  REQUIRE(c.x.size() == 4);
  CHECK(c.x == std::vector<double>{0, 1, 2, 3});
  CHECK(c.y[0] == Approx(2));
  CHECK(c.y[1] == Approx(4.0 / 3));
  CHECK(c.y[2] == Approx(2.0 / 3));
  CHECK(c.y[3] == 0);
  // 4 levels over 3 epochs: each level 0.75 epochs, changed at the first
  // step at or past its start (step i of epoch e is at e + 128 i / 1000):
  // 0.768, 1.512, 2.256, and 0 from epoch 3.
  r.levels = 4;
  c = sigma_curve(r, "step", {2, 1.5, 1, 0});
  REQUIRE(c.x.size() == 5);
  CHECK(c.x[0] == 0);
  CHECK(c.x[1] == Approx(0.768));
  CHECK(c.x[2] == Approx(1.512));
  CHECK(c.x[3] == Approx(2.256));
  CHECK(c.x[4] == 3);
  CHECK(c.y == std::vector<double>{2, 1.5, 1, 0.5, 0});
}

TEST_CASE("report: sigma_curve, a schedule that falls every step is a ramp to the end", "[report]") {
  const ScheduleRecord r{"linear", 3.0, 3, 4, 4, 60000, 128};  // 469 steps an epoch
  const SigmaCurve c = sigma_curve(r, "linear", {3, 2, 1, 0});
  CHECK(c.per_step);
  CHECK_FALSE(c.steps);
  CHECK(c.x.size() == kMaxCurvePoints + 1);
  CHECK(c.x.front() == 0);
  CHECK(c.y.front() == 3);
  CHECK(c.x.back() == 4);
  CHECK(c.y.back() == 0);
  for (size_t i = 1; i < c.x.size(); ++i) {
    CHECK(c.x[i] > c.x[i - 1]);
    CHECK(c.y[i] <= c.y[i - 1]);
  }
}

TEST_CASE("report: sigma_curve without the schedule: the epochs' sigmas, held or joined", "[report]") {
  SigmaCurve c = sigma_curve(std::nullopt, "step", {2, 1, 0});
  CHECK_FALSE(c.per_step);
  CHECK(c.steps);
  CHECK(c.x == std::vector<double>{0, 1, 2});
  CHECK(c.y == std::vector<double>{2, 1, 0});
  CHECK(c.x_end == 3);
  c = sigma_curve(std::nullopt, "cosine", {2, 1, 0});
  CHECK_FALSE(c.steps);
  // Too many steps to evaluate: the epochs' sigmas too.
  c = sigma_curve(ScheduleRecord{"step", 2, -1, 3, 4, 1'000'000'000, 1}, "step", {2, 1.3, 0.7, 0});
  CHECK_FALSE(c.per_step);
  CHECK(c.x.size() == 4);
  CHECK_THROWS_WITH(sigma_curve(ScheduleRecord{"blurry", 2, -1, 3, 4, 100, 10}, "blurry", {0}),
                    Contains("unknown schedule 'blurry'"));
}
