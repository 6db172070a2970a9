// Which training images a run uses, the seeded validation holdout, and the
// per-epoch shuffle. Deterministic across platforms: the generator and the
// shuffle are our own code, not std::uniform_int_distribution.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::data {

// SplitMix64: small, fast, portable, seeded generator.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform integer in [0, n), n > 0, without modulo bias.
  uint64_t below(uint64_t n);
  // Uniform float in [0, 1) with 24 bits.
  float uniform01();

 private:
  uint64_t state_;
};

// In-place Fisher-Yates shuffle driven by rng.below().
void shuffle(std::vector<uint32_t>& v, Rng& rng);

// Parses --val-split: "N" (an image count) or "F" with 0 <= F < 1 (a
// fraction of the images kept by --limit, rounded down). Throws fovea::Error
// naming --val-split and the value on anything else.
struct ValSpec {
  bool is_fraction = true;
  double fraction = 1.0 / 12.0;
  uint64_t count = 0;
};
ValSpec parse_val_split(const std::string& text);

struct Split {
  std::vector<uint32_t> train;  // indices into the training file, ascending
  std::vector<uint32_t> val;    // indices into the training file, ascending
};

// Keeps the first `limit` images of the training file (0 = all), then holds
// out a seeded random subset of them for validation. Throws fovea::Error
// when the holdout would leave no training image, or limit > available.
Split make_split(uint32_t available, uint32_t limit, const ValSpec& val, uint64_t seed);

// The visiting order of `indices` in epoch `epoch` (0-based): a shuffle
// seeded from (seed, epoch), independent of every other epoch.
std::vector<uint32_t> epoch_order(const std::vector<uint32_t>& indices, uint64_t seed,
                                  uint32_t epoch);

}  // namespace fovea::data
