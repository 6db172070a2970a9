// Seeded splits and shuffles. Everything here is integer arithmetic on our
// own generator, so a (seed, data) pair gives the same split and the same
// epoch orders on every platform and standard library.
#include "data/split.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>

#include "util/error.h"

namespace fovea::data {
namespace {

// Distinct streams derived from one user seed, so the validation holdout and
// the epoch shuffles never reuse each other's random numbers.
constexpr uint64_t kSplitStream = 0x73706c6974000000ull;  // "split"
constexpr uint64_t kEpochStream = 0x65706f6368000000ull;  // "epoch"
constexpr uint64_t kStrataStream = 0x7374726174610000ull;  // "strata"
constexpr uint64_t kFoldStream = 0x666f6c6400000000ull;    // "fold"
constexpr uint64_t kSubsetStream = 0x7375627365740000ull;  // "subset"

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

namespace {

// The split of `kept` that puts position i in val where in_val[i] is set.
// Walking the positions in order keeps both lists ascending.
Split split_by_mask(const std::vector<uint32_t>& kept, const std::vector<uint8_t>& in_val) {
  Split s;
  for (size_t i = 0; i < kept.size(); ++i) (in_val[i] ? s.val : s.train).push_back(kept[i]);
  return s;
}

// A uniform random nval-subset of `kept` as the validation set, drawn from
// the stream (seed, split, repeat): repeat 0 is the holdout `fovea train`
// uses with the same seed.
Split holdout(const std::vector<uint32_t>& kept, uint64_t nval, uint64_t seed, uint32_t repeat) {
  // Partial Fisher-Yates: after step i, idx[0..i] is a uniform random
  // ordered sample; we only need the first nval as a set.
  const uint64_t n = kept.size();
  std::vector<uint32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0u);
  Rng rng(derive_seed(seed, kSplitStream, repeat));
  std::vector<uint8_t> in_val(n, 0);
  for (uint64_t i = 0; i < nval; ++i) {
    const uint64_t j = i + rng.below(n - i);
    std::swap(idx[i], idx[j]);
    in_val[idx[i]] = 1;
  }
  return split_by_mask(kept, in_val);
}

// Positions 0..n-1 grouped by class, each group shuffled by `rng` (classes
// in ascending order, empty ones skipped).
std::vector<std::vector<uint32_t>> shuffled_classes(const std::vector<uint32_t>& labels, Rng& rng) {
  const uint32_t classes = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
  std::vector<std::vector<uint32_t>> by_class(classes);
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(uint32_t(i));
  std::vector<std::vector<uint32_t>> groups;
  for (auto& g : by_class) {
    if (g.empty()) continue;
    shuffle(g, rng);
    groups.push_back(std::move(g));
  }
  return groups;
}

// Each class c keeps floor(nval n_c / n) or one more of its images for
// validation (largest remainders first, then lower class), so the class's
// share of the holdout is within one image of its share of the data and
// the shares add up to nval.
Split stratified_holdout(const std::vector<uint32_t>& kept, const std::vector<uint32_t>& labels,
                         uint64_t nval, uint64_t seed, uint32_t repeat) {
  const uint64_t n = kept.size();
  Rng rng(derive_seed(seed, kStrataStream, repeat));
  const auto groups = shuffled_classes(labels, rng);
  std::vector<uint64_t> quota(groups.size()), remainder(groups.size());
  uint64_t given = 0;
  for (size_t c = 0; c < groups.size(); ++c) {
    const uint64_t share = nval * groups[c].size();  // < 2^64: both factors <= 2^32
    quota[c] = share / n;
    remainder[c] = share % n;
    given += quota[c];
  }
  std::vector<size_t> order(groups.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
  for (size_t k = 0; given < nval; ++k, ++given) ++quota[order[k]];
  std::vector<uint8_t> in_val(n, 0);
  for (size_t c = 0; c < groups.size(); ++c)
    for (uint64_t k = 0; k < quota[c]; ++k) in_val[groups[c][k]] = 1;
  return split_by_mask(kept, in_val);
}

// fold_of[i] for one repeat: the positions, shuffled (and grouped by class
// when stratified), are dealt to the folds in turn. A deal gives every fold
// floor(n/K) or one more; a class occupies a contiguous run of the deal, so
// every fold also holds floor(n_c/K) or one more of each class.
std::vector<uint32_t> deal_folds(const std::vector<uint32_t>& labels, uint64_t n, uint32_t folds,
                                 bool stratified, uint64_t seed, uint32_t repeat) {
  Rng rng(derive_seed(seed, kFoldStream, repeat));
  std::vector<uint32_t> order;
  if (stratified) {
    for (const auto& g : shuffled_classes(labels, rng)) order.insert(order.end(), g.begin(), g.end());
  } else {
    order.resize(n);
    std::iota(order.begin(), order.end(), 0u);
    shuffle(order, rng);
  }
  std::vector<uint32_t> fold_of(n);
  for (uint64_t j = 0; j < n; ++j) fold_of[order[j]] = uint32_t(j % folds);
  return fold_of;
}

std::string count_text(double count) {
  char buf[48];
  std::snprintf(buf, sizeof buf, count < 1e15 ? "%.0f" : "%.3g", count);
  return buf;
}

// The p-subsets of [0, n) that leave-p-out validates on: all of them in
// lexicographic order, or a seeded sample of `max_splits` distinct ones
// (also in lexicographic order).
std::vector<std::vector<uint32_t>> leave_p_out_subsets(uint32_t n, uint32_t p, double count,
                                                       uint32_t max_splits, uint64_t seed) {
  std::vector<std::vector<uint32_t>> all;
  if (max_splits == 0 || count <= 4.0 * max_splits) {
    // count <= 4 kMaxCvSplits here: enumerate them all.
    std::vector<uint32_t> c(p);
    std::iota(c.begin(), c.end(), 0u);
    for (;;) {
      all.push_back(c);
      size_t i = p;  // the last position that can still move right
      while (i > 0 && c[i - 1] == n - p + (i - 1)) --i;
      if (i == 0) break;
      ++c[i - 1];
      for (size_t k = i; k < p; ++k) c[k] = c[k - 1] + 1;
    }
    if (max_splits == 0 || all.size() <= max_splits) return all;
  }
  Rng rng(derive_seed(seed, kSubsetStream, 0));
  std::set<std::vector<uint32_t>> chosen;
  if (!all.empty()) {
    // A partial Fisher-Yates over the enumeration picks max_splits of them.
    for (uint32_t i = 0; i < max_splits; ++i) {
      std::swap(all[i], all[i + rng.below(all.size() - i)]);
      chosen.insert(all[i]);
    }
  } else {
    // More than 4 max_splits subsets: a fresh draw repeats an earlier one
    // with probability below 1/4, so rejection ends quickly. Floyd's
    // algorithm draws a uniform p-subset in p steps.
    while (chosen.size() < max_splits) {
      std::set<uint32_t> subset;
      for (uint32_t j = n - p; j < n; ++j) {
        const uint32_t t = uint32_t(rng.below(uint64_t(j) + 1));
        subset.insert(subset.count(t) ? j : t);
      }
      chosen.emplace(subset.begin(), subset.end());
    }
  }
  return {chosen.begin(), chosen.end()};
}

}  // namespace

uint64_t holdout_count(uint64_t n, const ValSpec& val) {
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
  return nval;
}

Split make_split(uint32_t available, uint32_t limit, const ValSpec& val, uint64_t seed) {
  if (limit > available) {
    throw Error("--limit " + std::to_string(limit) + " is more than the " +
                std::to_string(available) + " images in the training file");
  }
  const uint32_t n = limit == 0 ? available : limit;
  if (n == 0) throw Error("the training file holds no images to split");
  const uint64_t nval = holdout_count(n, val);
  std::vector<uint32_t> kept(n);
  std::iota(kept.begin(), kept.end(), 0u);
  return holdout(kept, nval, seed, 0);
}

namespace {

struct ProtocolInfo {
  Protocol protocol;
  const char* name;
  std::vector<std::string> options;
};

const std::vector<ProtocolInfo>& protocols() {
  static const std::vector<ProtocolInfo> table = {
      {Protocol::holdout, "holdout", {"--val-split"}},
      {Protocol::stratified_holdout, "stratified-holdout", {"--val-split", "--repeats"}},
      {Protocol::repeated_random, "repeated-random", {"--val-split", "--repeats"}},
      {Protocol::kfold, "kfold", {"--folds", "--repeats"}},
      {Protocol::stratified_kfold, "stratified-kfold", {"--folds", "--repeats"}},
      {Protocol::leave_p_out, "leave-p-out", {"--p", "--max-splits"}},
  };
  return table;
}

const ProtocolInfo& info(Protocol p) {
  for (const auto& i : protocols())
    if (i.protocol == p) return i;
  throw Error("internal: unknown cross-validation protocol");
}

// Refuses more than kMaxCvSplits splits, naming the options that asked.
void check_split_count(uint64_t splits, const std::string& asked, const std::string& lower) {
  if (splits > kMaxCvSplits)
    throw Error(asked + " gives " + std::to_string(splits) + " splits, more than " +
                std::to_string(kMaxCvSplits) + " (each trains a model); lower " + lower);
}

}  // namespace

Protocol parse_protocol(const std::string& name) {
  std::string list;
  for (const auto& i : protocols()) {
    if (name == i.name) return i.protocol;
    list += (list.empty() ? "" : ", ") + std::string(i.name);
  }
  throw Error("--protocol: unknown protocol '" + name + "' (one of " + list + ")");
}

std::string protocol_name(Protocol p) { return info(p).name; }

std::vector<std::string> protocol_options(Protocol p) { return info(p).options; }

double leave_p_out_count(uint32_t n, uint32_t p) {
  if (p > n) return 0;
  // C(n, k) with k = min(p, n - p) as the running product C(n - k + i, i):
  // every partial result is an integer, so the count is exact while it
  // stays below 2^53, and overflows to inf rather than wrapping.
  const uint32_t k = std::min(p, n - p);
  double c = 1;
  for (uint32_t i = 1; i <= k; ++i) c = c * double(n - k + i) / double(i);
  return c;
}

std::vector<CvSplit> make_cv_splits(const std::vector<uint32_t>& kept,
                                    const std::vector<uint32_t>& labels, const CvSettings& cv,
                                    uint64_t seed) {
  const uint64_t n = kept.size();
  if (n == 0) throw Error("cross-validation: no images to split");
  if (!std::is_sorted(kept.begin(), kept.end()) ||
      std::adjacent_find(kept.begin(), kept.end()) != kept.end())
    throw Error("internal: the kept image indices must ascend strictly");
  const bool stratified =
      cv.protocol == Protocol::stratified_holdout || cv.protocol == Protocol::stratified_kfold;
  if (stratified && labels.size() != n)
    throw Error("internal: " + std::to_string(labels.size()) + " labels for " + std::to_string(n) +
                " images");
  if (cv.repeats == 0) throw Error("--repeats must be at least 1");
  const std::string name = protocol_name(cv.protocol);
  std::vector<CvSplit> out;
  switch (cv.protocol) {
    case Protocol::holdout:
    case Protocol::stratified_holdout:
    case Protocol::repeated_random: {
      const uint64_t nval = holdout_count(n, cv.val);
      if (nval == 0)
        throw Error("--protocol " + name + ": --val-split holds out no image of the " +
                    std::to_string(n) + " in use, so there is nothing to validate on");
      const uint32_t repeats = cv.protocol == Protocol::holdout ? 1 : cv.repeats;
      check_split_count(repeats, "--repeats " + std::to_string(repeats), "--repeats");
      for (uint32_t r = 0; r < repeats; ++r)
        out.push_back({r, 0,
                       cv.protocol == Protocol::stratified_holdout
                           ? stratified_holdout(kept, labels, nval, seed, r)
                           : holdout(kept, nval, seed, r)});
      return out;
    }
    case Protocol::kfold:
    case Protocol::stratified_kfold: {
      if (cv.folds < 2) throw Error("--folds " + std::to_string(cv.folds) + ": k-fold needs at least 2 folds");
      if (cv.folds > n)
        throw Error("--folds " + std::to_string(cv.folds) + " is more than the " + std::to_string(n) +
                    " images in use (every fold needs one)");
      check_split_count(uint64_t(cv.folds) * cv.repeats,
                        "--folds " + std::to_string(cv.folds) + " x --repeats " + std::to_string(cv.repeats),
                        "--folds or --repeats");
      for (uint32_t r = 0; r < cv.repeats; ++r) {
        const auto fold_of = deal_folds(labels, n, cv.folds, stratified, seed, r);
        std::vector<uint8_t> in_val(n);
        for (uint32_t f = 0; f < cv.folds; ++f) {
          for (uint64_t i = 0; i < n; ++i) in_val[i] = fold_of[i] == f;
          out.push_back({r, f, split_by_mask(kept, in_val)});
        }
      }
      return out;
    }
    case Protocol::leave_p_out: {
      if (cv.p == 0) throw Error("--p must be at least 1");
      if (cv.p >= n)
        throw Error("--p " + std::to_string(cv.p) + " must be below the " + std::to_string(n) +
                    " images in use (leave-p-out trains on the rest)");
      if (cv.max_splits > kMaxCvSplits)
        throw Error("--max-splits " + std::to_string(cv.max_splits) + " is more than " +
                    std::to_string(kMaxCvSplits) + " (each split trains a model)");
      const double count = leave_p_out_count(uint32_t(n), cv.p);
      if (cv.max_splits == 0 && count > kMaxCvSplits)
        throw Error("leave-p-out with n=" + std::to_string(n) + ", p=" + std::to_string(cv.p) +
                    " gives " + count_text(count) + " splits; pass --max-splits N (at most " +
                    std::to_string(kMaxCvSplits) + ") to sample N of them, or lower --limit");
      uint32_t f = 0;
      for (const auto& subset : leave_p_out_subsets(uint32_t(n), cv.p, count, cv.max_splits, seed)) {
        std::vector<uint8_t> in_val(n, 0);
        for (uint32_t i : subset) in_val[i] = 1;
        out.push_back({0, f++, split_by_mask(kept, in_val)});
      }
      return out;
    }
  }
  throw Error("internal: unknown cross-validation protocol");
}

std::vector<uint32_t> epoch_order(const std::vector<uint32_t>& indices, uint64_t seed,
                                  uint32_t epoch) {
  std::vector<uint32_t> order = indices;
  Rng rng(derive_seed(seed, kEpochStream, epoch));
  shuffle(order, rng);
  return order;
}

}  // namespace fovea::data
