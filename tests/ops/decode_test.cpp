// decode: packed u8 images -> standardised floats, against the reference,
// with feature counts that split 4-byte words across rows and channels, and
// partial batches whose padding rows must come out as exact zeros.
#include <catch2/catch.hpp>

#include "data/split.h"
#include "gpu/harness.h"
#include "ops/decode.h"
#include "ops/op_check.h"
#include "reference/decode.h"

namespace fovea::test {
namespace {

struct DecodeCase {
  uint32_t batch, channels, height, width, rows;
  std::vector<double> mean, stddev;  // per channel
};

void check_decode(const DecodeCase& c, uint64_t seed) {
  const ref::DecodeShape rs{c.batch, c.channels, c.height, c.width};
  const uint64_t count = uint64_t(c.batch) * rs.features();
  // Random bytes, with the extremes 0 and 255 present.
  data::Rng rng(seed);
  std::vector<uint8_t> bytes(count);
  for (auto& v : bytes) v = uint8_t(rng.below(256));
  bytes[0] = 255;
  bytes[count - 1] = 0;
  if (count > 2) bytes[count / 2] = 0;
  std::vector<uint32_t> words((count + 3) / 4, 0);
  for (uint64_t e = 0; e < count; ++e) words[e / 4] |= uint32_t(bytes[e]) << (8 * (e % 4));

  // The kernel's stats are [mean C][1/std C] in float; the reference divides
  // by the same float standard deviation in double.
  std::vector<float> stats(2 * c.channels);
  ref::Tensor mean(c.channels), stddev(c.channels);
  for (uint32_t ch = 0; ch < c.channels; ++ch) {
    mean[ch] = float(c.mean[ch]);
    stddev[ch] = float(c.stddev[ch]);
    stats[ch] = float(mean[ch]);
    stats[c.channels + ch] = float(1.0 / stddev[ch]);
  }

  OpRun run;
  auto images = run.host_tensor("images", words.size() * 4);
  auto vstats = run.tensor("stats", stats.size()), x = run.tensor("x", count);
  run.commit();
  run.set_u32(images, words);
  run.set(vstats, stats);
  run.set(x, garbage(count, seed));  // padding rows must be overwritten with 0
  ops::DecodeShape s{c.batch, c.channels, c.height, c.width};
  ops::record_decode(run.program(), s, images, vstats, x, "decode");
  nn::StepParams params;
  params.rows = c.rows;
  run.run(params);

  INFO("batch " << c.batch << ", C " << c.channels << ", H " << c.height << ", W " << c.width
                << ", rows " << c.rows);
  // Values reach |x| ~ 5; float rounding of v/255, mean and 1/std is ~1e-6.
  check_close(run.get(x, count), ref::decode(rs, c.rows, bytes, mean, stddev), 1e-5, 1e-5, "x");
}

}  // namespace

TEST_CASE("decode standardises three channels of odd height and width and zeroes padding rows",
          "[decode]") {
  check_decode({9, 3, 5, 7, 6, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}}, 1);
}

TEST_CASE("decode of a full single-channel batch of 28 x 28 images", "[decode]") {
  check_decode({17, 1, 28, 28, 17, {0.1307}, {0.3081}}, 2);
}

TEST_CASE("decode of a byte count that ends mid-word with one valid row", "[decode]") {
  // 3 images of 1 x 3 x 3 = 27 bytes: the last word is partial and rows
  // straddle word boundaries.
  check_decode({3, 1, 3, 3, 1, {0.5}, {0.25}}, 3);
}

TEST_CASE("decode with one image and five channels of 1 x 1", "[decode]") {
  check_decode({1, 5, 1, 1, 1, {0.1, 0.2, 0.3, 0.4, 0.5}, {0.5, 0.4, 0.3, 0.2, 0.1}}, 4);
}

TEST_CASE("decode with every row padding writes only zeros", "[decode]") {
  check_decode({4, 3, 3, 5, 0, {0.5, 0.4, 0.3}, {0.2, 0.3, 0.4}}, 5);
}

TEST_CASE("decode of 65 images of 3 x 31 x 17 with 64 valid rows", "[decode]") {
  check_decode({65, 3, 31, 17, 64, {0.49, 0.48, 0.45}, {0.25, 0.24, 0.26}}, 6);
}

}  // namespace fovea::test
