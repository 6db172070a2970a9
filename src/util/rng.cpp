// The host generator (util/rng.h).
#include "util/rng.h"

#include "util/error.h"

namespace fovea::data {

uint64_t splitmix_finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t Rng::next() {
  state_ += kSplitMixGamma;
  return splitmix_finalize(state_);
}

uint64_t Rng::below(uint64_t n) {
  if (n == 0) throw Error("Rng::below: the range must be non-empty (n > 0)");
  // 2^64 mod n, computed in 64 bits as (2^64 - n) mod n. Draws below it are
  // rejected so the accepted range [t, 2^64) holds a whole number of copies
  // of [0, n), and r % n is exactly uniform. t < 2^63 (t < n, and
  // t = 2^64 - n when n > 2^63), so fewer than half the draws are rejected;
  // for n below 2^32 almost none are.
  const uint64_t t = (0 - n) % n;
  for (;;) {
    const uint64_t r = next();
    if (r >= t) return r % n;
  }
}

float Rng::uniform01() {
  // The top 24 bits: every value k / 2^24 is exactly representable in float,
  // so the result is uniform on that grid and never reaches 1.
  return float(next() >> 40) * (1.0f / 16777216.0f);
}

}  // namespace fovea::data
