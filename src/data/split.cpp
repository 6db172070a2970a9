// Seeded splits and shuffles. Everything here is integer arithmetic on our
// own generator, so a (seed, data) pair gives the same split and the same
// epoch orders on every platform and standard library.
#include "data/split.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "util/error.h"

namespace fovea::data {
namespace {

// Distinct streams derived from one user seed, so the validation holdout and
// the epoch shuffles never reuse each other's random numbers.
constexpr uint64_t kSplitStream = 0x73706c6974000000ull;  // "split"
constexpr uint64_t kEpochStream = 0x65706f6368000000ull;  // "epoch"

constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio, odd

// SplitMix64's output function (a variant of MurmurHash3's fmix64): a
// bijection on 64 bits with good avalanche.
uint64_t finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// One SplitMix64 step as a pure function, used to mix seeds.
uint64_t mix64(uint64_t z) { return finalize(z + kGamma); }

// Seed for (user seed, stream, index): mixing twice means nearby seeds and
// nearby indices (epoch 3 vs 4, seed 1 vs 2) start far-apart generators.
uint64_t derive_seed(uint64_t seed, uint64_t stream, uint64_t index) {
  return mix64(mix64(seed ^ stream) ^ mix64(index));
}

[[noreturn]] void bad_val_split(const std::string& text) {
  throw Error("--val-split: '" + text +
              "' is neither an image count (e.g. 5000) nor a decimal fraction in [0, 1) "
              "(e.g. 0.1)");
}

}  // namespace

uint64_t Rng::next() {
  state_ += kGamma;
  return finalize(state_);
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

void shuffle(std::vector<uint32_t>& v, Rng& rng) {
  // Fisher-Yates from the back: position i takes a uniform pick of [0, i].
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = size_t(rng.below(i));
    std::swap(v[i - 1], v[j]);
  }
}

ValSpec parse_val_split(const std::string& text) {
  // Accepted: digits only (a count), or digits with one '.' (a fraction).
  // Signs, exponents, spaces, "inf" and "nan" are rejected up front so that
  // from_chars below never sees them.
  size_t digits = 0, dots = 0;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c == '.') {
      ++dots;
    } else {
      bad_val_split(text);
    }
  }
  if (digits == 0 || dots > 1) bad_val_split(text);
  const char* first = text.data();
  const char* last = text.data() + text.size();
  ValSpec spec;
  if (dots == 0) {
    uint64_t count = 0;
    const auto [end, ec] = std::from_chars(first, last, count);
    if (ec != std::errc() || end != last) {
      throw Error("--val-split: '" + text + "' is too large for an image count");
    }
    spec.is_fraction = false;
    spec.count = count;
    spec.fraction = 0.0;
    return spec;
  }
  double f = 0.0;
  const auto [end, ec] = std::from_chars(first, last, f, std::chars_format::fixed);
  if (ec != std::errc() || end != last) bad_val_split(text);
  if (!(f >= 0.0 && f < 1.0)) {
    throw Error("--val-split: fraction '" + text +
                "' must be at least 0 and below 1 (or give an image count such as 5000)");
  }
  spec.is_fraction = true;
  spec.fraction = f;
  spec.count = 0;
  return spec;
}

Split make_split(uint32_t available, uint32_t limit, const ValSpec& val, uint64_t seed) {
  if (limit > available) {
    throw Error("--limit " + std::to_string(limit) + " is more than the " +
                std::to_string(available) + " images in the training file");
  }
  const uint32_t n = limit == 0 ? available : limit;
  if (n == 0) throw Error("the training file holds no images to split");

  uint64_t nval = 0;
  if (val.is_fraction) {
    if (!(val.fraction >= 0.0 && val.fraction < 1.0)) {
      throw Error("--val-split: fraction " + std::to_string(val.fraction) +
                  " must be at least 0 and below 1");
    }
    // Round down, but forgive the last-bit error of a decimal fraction:
    // 0.7 * 10 may evaluate to 6.999...9 and must still give 7. The slack
    // (1e-12 relative) is far above double rounding (~1e-16) and below any
    // difference a user could mean.
    const double x = val.fraction * double(n);
    nval = uint64_t(std::floor(x));
    if (double(nval + 1) - x <= x * 1e-12) ++nval;
  } else {
    nval = val.count;
  }
  if (nval >= n) {
    throw Error("--val-split: holding out " + std::to_string(nval) + " of the " +
                std::to_string(n) + " images in use leaves none to train on");
  }

  // Partial Fisher-Yates: after step i, idx[0..i] is a uniform random
  // ordered sample; we only need the first nval as a set.
  std::vector<uint32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0u);
  Rng rng(derive_seed(seed, kSplitStream, 0));
  for (uint64_t i = 0; i < nval; ++i) {
    const uint64_t j = i + rng.below(n - i);
    std::swap(idx[i], idx[j]);
  }
  Split s;
  s.val.assign(idx.begin(), idx.begin() + nval);
  s.train.assign(idx.begin() + nval, idx.end());
  std::sort(s.val.begin(), s.val.end());
  std::sort(s.train.begin(), s.train.end());
  return s;
}

std::vector<uint32_t> epoch_order(const std::vector<uint32_t>& indices, uint64_t seed,
                                  uint32_t epoch) {
  std::vector<uint32_t> order = indices;
  Rng rng(derive_seed(seed, kEpochStream, epoch));
  shuffle(order, rng);
  return order;
}

}  // namespace fovea::data
