// The host's random-number generator: SplitMix64, small, fast, portable and
// seeded, so a seed gives the same numbers on every platform and standard
// library (the splits and shuffles of src/data, initial weights, tests).
#pragma once
#include <cstdint>

namespace fovea::data {

// SplitMix64's increment: 2^64 / golden ratio, odd.
inline constexpr uint64_t kSplitMixGamma = 0x9E3779B97F4A7C15ull;

// SplitMix64's output function (a variant of MurmurHash3's fmix64): a
// bijection on 64 bits with good avalanche.
uint64_t splitmix_finalize(uint64_t z);

// One SplitMix64 step as a pure function, used to mix seeds.
inline uint64_t mix64(uint64_t z) { return splitmix_finalize(z + kSplitMixGamma); }

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

}  // namespace fovea::data
