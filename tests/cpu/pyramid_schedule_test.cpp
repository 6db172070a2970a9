// --sharpen pyramid on the host: the level (downsampling exponent) of each
// epoch, its errors and description, and the block-mean downsampling of an
// image set (exact rounded means, edge blocks averaging what they hold).
#include <algorithm>
#include <catch2/catch.hpp>

#include "data/downsample.h"
#include "data/sharpening.h"
#include "util/error.h"

using Catch::Contains;
using fovea::data::SharpenConfig;
using fovea::data::SharpenSchedule;

TEST_CASE("pyramid holds each resolution N/K epochs, coarsest first, then the originals", "[pyramid]") {
  SharpenConfig c;
  c.schedule = "pyramid";
  c.levels = 3;
  c.sharpen_epochs = 6;
  const SharpenSchedule s(c, 8);
  const uint32_t want[8] = {2, 2, 1, 1, 0, 0, 0, 0};
  for (uint32_t e = 0; e < 8; ++e) CHECK(s.downsample(e) == want[e]);
  CHECK(s.downsample(1.999) == 2);
  CHECK(s.sigma(0) == 0);
  CHECK(!s.active());  // no blur passes
  CHECK(s.describe() == "pyramid levels 3 over 6 epochs (1/4 size, 1/2 size, then the originals)");
  // The default span: 3/4 of the run; other schedules never downsample.
  c.sharpen_epochs = -1;
  CHECK(SharpenSchedule(c, 4).downsample(0) == 2);
  CHECK(SharpenSchedule(c, 4).downsample(2) == 0);
  c.schedule = "step";
  CHECK(SharpenSchedule(c, 4).downsample(0) == 0);
  c.schedule = "pyramid";
  c.levels = 0;
  CHECK_THROWS_WITH(SharpenSchedule(c, 4), Contains("--levels must be at least 1"));
  c.levels = 13;
  CHECK_THROWS_WITH(SharpenSchedule(c, 4), Contains("at most 12"));
}

TEST_CASE("downsample_set averages 2^k blocks, edge blocks over the pixels they hold", "[pyramid]") {
  fovea::data::ImageSet set;
  set.count = 2, set.channels = 1, set.height = 5, set.width = 3;
  for (uint32_t i = 0; i < 30; ++i) set.pixels.push_back(uint8_t(i * 7 + 1));
  set.labels = {1, 2};
  const auto half = fovea::data::downsample_set(set, 1);
  REQUIRE(half.height == 3);
  REQUIRE(half.width == 2);
  REQUIRE(half.pixels.size() == 12);
  auto px = [&](uint32_t n, uint32_t y, uint32_t x) { return double(set.pixels[n * 15 + y * 3 + x]); };
  for (uint32_t n = 0; n < 2; ++n)
    for (uint32_t y = 0; y < 3; ++y)
      for (uint32_t x = 0; x < 2; ++x) {
        double sum = 0, count = 0;
        for (uint32_t yy = 2 * y; yy < std::min(5u, 2 * y + 2); ++yy)
          for (uint32_t xx = 2 * x; xx < std::min(3u, 2 * x + 2); ++xx) sum += px(n, yy, xx), ++count;
        CHECK(half.pixels[n * 6 + y * 2 + x] == uint8_t(sum / count + 0.5));
      }
  CHECK(half.labels == set.labels);
  const auto quarter = fovea::data::downsample_set(set, 2);
  CHECK(quarter.height == 2);
  CHECK(quarter.width == 1);
  CHECK(fovea::data::downsample_set(set, 0).pixels == set.pixels);
}
