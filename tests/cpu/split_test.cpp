// The generator, the validation holdout and the epoch shuffles: seeded,
// reproducible, unbiased, and strict about --val-split / --limit values.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "data/split.h"
#include "util/error.h"

using Catch::Contains;
using fovea::data::make_split;
using fovea::data::parse_val_split;
using fovea::data::Rng;
using fovea::data::ValSpec;

namespace {

ValSpec fraction(double f) {
  ValSpec v;
  v.is_fraction = true;
  v.fraction = f;
  return v;
}

ValSpec count(uint64_t n) {
  ValSpec v;
  v.is_fraction = false;
  v.count = n;
  return v;
}

std::vector<uint32_t> iota_vec(uint32_t n, uint32_t start = 0) {
  std::vector<uint32_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

// train ∪ val is exactly [0, n), the two are disjoint, and both ascend.
void check_partition(const fovea::data::Split& s, uint32_t n) {
  REQUIRE(std::is_sorted(s.train.begin(), s.train.end()));
  REQUIRE(std::is_sorted(s.val.begin(), s.val.end()));
  std::vector<uint32_t> all;
  std::merge(s.train.begin(), s.train.end(), s.val.begin(), s.val.end(),
             std::back_inserter(all));
  REQUIRE(all == iota_vec(n));  // sorted merge equal to 0..n-1 => disjoint and complete
}

}  // namespace

TEST_CASE("split: Rng streams are reproducible per seed and differ across seeds", "[split]") {
  Rng a(42), b(42), c(43);
  std::vector<uint64_t> va, vb, vc;
  for (int i = 0; i < 100; ++i) {
    va.push_back(a.next());
    vb.push_back(b.next());
    vc.push_back(c.next());
  }
  CHECK(va == vb);
  CHECK(va != vc);
  // SplitMix64 from seed 0: first output of the reference algorithm.
  Rng z(0);
  CHECK(z.next() == 0xE220A8397B1DCDAFull);
}

TEST_CASE("split: Rng::below stays in range, is near-uniform, and rejects n = 0", "[split]") {
  Rng r(7);
  // 7 buckets x 10000 expected: sd ~ 93, so +-500 fails only on real bias.
  std::vector<int> hist(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const uint64_t v = r.below(7);
    REQUIRE(v < 7);
    ++hist[v];
  }
  for (int h : hist) CHECK(std::abs(h - 10000) < 500);
  for (int i = 0; i < 100; ++i) CHECK(r.below(1) == 0);
  // n = 3 * 2^62: a quarter of the raw draws are rejected. Unbiased, a
  // third of the results fall in [0, 2^62); a plain r % n would fold the top
  // quarter of the raw range onto [0, 2^62) and put half of them there.
  const uint64_t big = uint64_t(3) << 62;
  int low = 0;
  for (int i = 0; i < 4000; ++i) {
    const uint64_t v = r.below(big);
    REQUIRE(v < big);
    low += v < (uint64_t(1) << 62);
  }
  CHECK(std::abs(low - 1333) < 150);  // sd ~ 30; the biased version gives ~2000
  CHECK_THROWS_AS(r.below(0), fovea::Error);
}

TEST_CASE("split: uniform01 lies in 0 <= u < 1 with mean near 1/2", "[split]") {
  Rng r(3);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const float u = r.uniform01();
    REQUIRE(u >= 0.0f);
    REQUIRE(u < 1.0f);
    sum += u;
  }
  CHECK(sum / 100000 == Approx(0.5).margin(0.005));
}

TEST_CASE("split: shuffle visits all 6 orders of 3 items equally often", "[split]") {
  Rng r(11);
  std::map<std::vector<uint32_t>, int> seen;
  for (int i = 0; i < 60000; ++i) {
    std::vector<uint32_t> v{0, 1, 2};
    fovea::data::shuffle(v, r);
    ++seen[v];
  }
  REQUIRE(seen.size() == 6);
  for (const auto& [order, n] : seen) CHECK(std::abs(n - 10000) < 500);
  std::vector<uint32_t> one{5}, none;
  fovea::data::shuffle(one, r);
  fovea::data::shuffle(none, r);
  CHECK(one == std::vector<uint32_t>{5});
}

TEST_CASE("split: parse_val_split reads counts, fractions and zero", "[split]") {
  ValSpec v = parse_val_split("5000");
  CHECK_FALSE(v.is_fraction);
  CHECK(v.count == 5000);
  v = parse_val_split("0");
  CHECK_FALSE(v.is_fraction);
  CHECK(v.count == 0);
  v = parse_val_split("0.1");
  CHECK(v.is_fraction);
  CHECK(v.fraction == Approx(0.1));
  v = parse_val_split(".25");
  CHECK(v.is_fraction);
  CHECK(v.fraction == 0.25);
  v = parse_val_split("0.0");
  CHECK(v.is_fraction);
  CHECK(v.fraction == 0.0);
  v = parse_val_split("0.999");
  CHECK(v.fraction == Approx(0.999));
}

TEST_CASE("split: parse_val_split rejects bad values naming --val-split and the value",
          "[split]") {
  for (const char* bad : {"1.5", "1.0", "-0.1", "-5", "abc", "", "0.1.2", "1e-1", " 5", "5 ",
                          "0x10", "nan", "inf", ".", "5000x", "99999999999999999999999"}) {
    INFO("value '" << bad << "'");
    CHECK_THROWS_WITH(parse_val_split(bad),
                      Contains("--val-split") && Contains(std::string("'") + bad + "'"));
  }
}

TEST_CASE("split: a fraction holdout has the rounded-down size and partitions the set",
          "[split]") {
  auto s = make_split(60000, 0, fraction(0.1), 1);
  CHECK(s.val.size() == 6000);
  CHECK(s.train.size() == 54000);
  check_partition(s, 60000);
  s = make_split(1009, 0, fraction(0.1), 1);  // 100.9 -> 100
  CHECK(s.val.size() == 100);
  check_partition(s, 1009);
  s = make_split(10, 0, parse_val_split("0.7"), 1);  // 0.7 * 10 must give 7, not 6
  CHECK(s.val.size() == 7);
  s = make_split(100, 0, parse_val_split("0.29"), 1);  // 0.29 * 100 = 28.999... in double
  CHECK(s.val.size() == 29);
  s = make_split(12, 0, ValSpec{}, 5);  // the default: 1/12
  CHECK(s.val.size() == 1);
  s = make_split(50, 0, fraction(0.0), 5);
  CHECK(s.val.empty());
  CHECK(s.train == iota_vec(50));
}

TEST_CASE("split: a count holdout, and zero, give exactly that many", "[split]") {
  auto s = make_split(60000, 0, count(5000), 9);
  CHECK(s.val.size() == 5000);
  check_partition(s, 60000);
  s = make_split(100, 0, parse_val_split("0"), 9);
  CHECK(s.val.empty());
  CHECK(s.train == iota_vec(100));
  s = make_split(100, 0, count(99), 9);
  CHECK(s.train.size() == 1);
  check_partition(s, 100);
}

TEST_CASE("split: the same seed gives the same split, another seed another", "[split]") {
  const auto a = make_split(5000, 0, fraction(0.2), 123);
  const auto b = make_split(5000, 0, fraction(0.2), 123);
  const auto c = make_split(5000, 0, fraction(0.2), 124);
  CHECK(a.val == b.val);
  CHECK(a.train == b.train);
  CHECK(a.val != c.val);
  // The holdout is spread over the whole range, not a prefix or suffix.
  const size_t low = size_t(std::count_if(a.val.begin(), a.val.end(),
                                          [](uint32_t i) { return i < 2500; }));
  CHECK(low > 400);
  CHECK(low < 600);
}

TEST_CASE("split: --limit keeps the first images in file order", "[split]") {
  auto s = make_split(60000, 1000, fraction(0.1), 2);
  CHECK(s.val.size() == 100);  // fraction of the limited set
  CHECK(s.train.size() == 900);
  check_partition(s, 1000);
  s = make_split(60000, 60000, count(0), 2);  // limit == available is fine
  CHECK(s.train.size() == 60000);
  s = make_split(60000, 1, count(0), 2);
  CHECK(s.train == std::vector<uint32_t>{0});
}

TEST_CASE("split: impossible limits and holdouts are errors with the numbers", "[split]") {
  CHECK_THROWS_WITH(make_split(60000, 60001, count(0), 1),
                    Contains("--limit 60001") && Contains("60000 images"));
  CHECK_THROWS_WITH(make_split(100, 0, count(100), 1),
                    Contains("--val-split") && Contains("100 of the 100") &&
                        Contains("none to train on"));
  CHECK_THROWS_WITH(make_split(60000, 10, count(5000), 1),
                    Contains("--val-split") && Contains("5000 of the 10"));
  CHECK_THROWS_AS(make_split(0, 0, count(0), 1), fovea::Error);
  CHECK_THROWS_WITH(make_split(100, 0, fraction(1.0), 1), Contains("--val-split"));
  CHECK(make_split(1, 0, fraction(0.99), 1).val.empty());  // floor(0.99) = 0
}

TEST_CASE("split: epoch_order is a reproducible permutation that changes every epoch",
          "[split]") {
  // Non-contiguous indices, as a real train split has.
  std::vector<uint32_t> idx;
  for (uint32_t i = 0; i < 1000; ++i) idx.push_back(i * 3 + 1);
  const auto e0 = fovea::data::epoch_order(idx, 77, 0);
  const auto e1 = fovea::data::epoch_order(idx, 77, 1);
  const auto e0b = fovea::data::epoch_order(idx, 77, 0);
  const auto other = fovea::data::epoch_order(idx, 78, 0);
  CHECK(e0 == e0b);
  CHECK(e0 != e1);
  CHECK(e0 != other);
  CHECK(e0 != idx);
  for (const auto* order : {&e0, &e1, &other}) {
    auto sorted = *order;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == idx);
  }
  // Independent epochs: positions agree about as often as chance (1/1000).
  size_t same = 0;
  for (size_t i = 0; i < idx.size(); ++i) same += e0[i] == e1[i];
  CHECK(same < 10);
  CHECK(fovea::data::epoch_order({}, 1, 0).empty());
}

// ---- Cross-validation protocols -------------------------------------------

namespace {

using fovea::data::CvSettings;
using fovea::data::CvSplit;
using fovea::data::make_cv_splits;
using fovea::data::Protocol;

// Kept images as a real --limit would not give them: every third image from
// 5, so a protocol that returned positions instead of indices would fail.
std::vector<uint32_t> sparse_kept(uint32_t n) {
  std::vector<uint32_t> v(n);
  for (uint32_t i = 0; i < n; ++i) v[i] = 5 + 3 * i;
  return v;
}

// Unbalanced random labels: class c is drawn with weight c + 1 (so class 0
// is rare), over `classes` classes.
std::vector<uint32_t> unbalanced_labels(uint32_t n, uint32_t classes, uint64_t seed) {
  Rng r(seed);
  const uint32_t total = classes * (classes + 1) / 2;
  std::vector<uint32_t> labels(n);
  for (auto& l : labels) {
    uint32_t x = uint32_t(r.below(total)), c = 0;
    while (x >= c + 1) x -= ++c;
    l = uint8_t(c);
  }
  return labels;
}

CvSettings settings(Protocol p) {
  CvSettings cv;
  cv.protocol = p;
  return cv;
}

// Every split: train and val ascend, are disjoint, and together are `kept`.
void check_cover(const CvSplit& s, const std::vector<uint32_t>& kept) {
  REQUIRE(std::is_sorted(s.split.train.begin(), s.split.train.end()));
  REQUIRE(std::is_sorted(s.split.val.begin(), s.split.val.end()));
  REQUIRE_FALSE(s.split.val.empty());
  REQUIRE_FALSE(s.split.train.empty());
  std::vector<uint32_t> all;
  std::merge(s.split.train.begin(), s.split.train.end(), s.split.val.begin(), s.split.val.end(),
             std::back_inserter(all));
  REQUIRE(all == kept);
}

// How many of `idx` (values from kept) have each label.
std::map<uint8_t, uint32_t> class_counts(const std::vector<uint32_t>& idx,
                                         const std::vector<uint32_t>& kept,
                                         const std::vector<uint32_t>& labels) {
  std::map<uint8_t, uint32_t> m;
  for (uint32_t v : idx) {
    const size_t pos = size_t(std::lower_bound(kept.begin(), kept.end(), v) - kept.begin());
    ++m[labels[pos]];
  }
  return m;
}

// The k folds of each repeat are disjoint and cover kept exactly once;
// fold sizes differ by at most one.
void check_folds(const std::vector<CvSplit>& splits, const std::vector<uint32_t>& kept,
                 uint32_t folds, uint32_t repeats) {
  REQUIRE(splits.size() == size_t(folds) * repeats);
  for (uint32_t r = 0; r < repeats; ++r) {
    std::vector<uint32_t> seen(kept.back() + 1, 0);
    for (uint32_t f = 0; f < folds; ++f) {
      const CvSplit& s = splits[r * folds + f];
      CHECK(s.repeat == r);
      CHECK(s.fold == f);
      check_cover(s, kept);
      CHECK(s.split.val.size() >= kept.size() / folds);
      CHECK(s.split.val.size() <= kept.size() / folds + 1);
      for (uint32_t v : s.split.val) ++seen[v];
    }
    for (uint32_t v : kept) REQUIRE(seen[v] == 1);
  }
}

}  // namespace

TEST_CASE("cv: protocol names parse, and a bad one names --protocol and the value", "[split]") {
  for (const char* name : {"holdout", "stratified-holdout", "repeated-random", "kfold",
                           "stratified-kfold", "leave-p-out"})
    CHECK(fovea::data::protocol_name(fovea::data::parse_protocol(name)) == name);
  CHECK_THROWS_WITH(fovea::data::parse_protocol("k-fold"),
                    Contains("--protocol") && Contains("'k-fold'") && Contains("stratified-kfold"));
  const auto opts = fovea::data::protocol_options(Protocol::leave_p_out);
  CHECK(std::find(opts.begin(), opts.end(), "--p") != opts.end());
  CHECK(std::find(opts.begin(), opts.end(), "--folds") == opts.end());
}

TEST_CASE("cv: holdout is train's split, and repeated-random draws a fresh one each repeat",
          "[split]") {
  const auto kept = iota_vec(997);
  CvSettings cv = settings(Protocol::holdout);
  cv.val = fraction(0.2);
  const auto h = make_cv_splits(kept, {}, cv, 31);
  REQUIRE(h.size() == 1);
  check_cover(h[0], kept);
  const auto t = make_split(997, 0, fraction(0.2), 31);
  CHECK(h[0].split.val == t.val);
  CHECK(h[0].split.val.size() == 199);

  const auto sparse = sparse_kept(997);
  cv.protocol = Protocol::repeated_random;
  cv.repeats = 4;
  const auto r = make_cv_splits(sparse, {}, cv, 31);
  REQUIRE(r.size() == 4);
  for (uint32_t i = 0; i < 4; ++i) {
    check_cover(r[i], sparse);
    CHECK(r[i].repeat == i);
    CHECK(r[i].split.val.size() == 199);
    for (uint32_t j = 0; j < i; ++j) CHECK(r[i].split.val != r[j].split.val);
  }
  // Repeat 0 is the plain holdout, mapped through kept.
  for (size_t k = 0; k < t.val.size(); ++k) CHECK(r[0].split.val[k] == sparse[t.val[k]]);
}

TEST_CASE("cv: stratified-holdout keeps each class's share within one image", "[split]") {
  const auto kept = sparse_kept(1003);
  const auto labels = unbalanced_labels(1003, 7, 5);
  const auto all = class_counts(kept, kept, labels);
  REQUIRE(all.size() == 7);
  for (uint64_t seed : {1u, 2u, 3u}) {
    CvSettings cv = settings(Protocol::stratified_holdout);
    cv.val = fraction(0.3);  // 300 of 1003
    cv.repeats = 3;
    const auto splits = make_cv_splits(kept, labels, cv, seed);
    REQUIRE(splits.size() == 3);
    for (const auto& s : splits) {
      check_cover(s, kept);
      CHECK(s.split.val.size() == 300);
      const auto in_val = class_counts(s.split.val, kept, labels);
      for (const auto& [c, nc] : all) {
        const double share = 300.0 * nc / 1003.0;
        const uint32_t got = in_val.count(c) ? in_val.at(c) : 0;
        INFO("class " << int(c) << ": " << nc << " images, " << got << " held out");
        CHECK(std::abs(double(got) - share) < 1.0);
      }
    }
    CHECK(splits[0].split.val != splits[1].split.val);
  }
}

TEST_CASE("cv: kfold folds partition the kept images, repeats reshuffle", "[split]") {
  const auto kept = sparse_kept(103);
  for (uint32_t folds : {2u, 3u, 7u, 103u}) {
    CvSettings cv = settings(Protocol::kfold);
    cv.folds = folds;
    cv.repeats = folds == 103 ? 1 : 2;
    const auto s = make_cv_splits(kept, {}, cv, 8);
    INFO("folds " << folds);
    check_folds(s, kept, folds, cv.repeats);
    if (cv.repeats == 2) CHECK(s[0].split.val != s[folds].split.val);
  }
}

TEST_CASE("cv: stratified-kfold puts n_c / K of every class in every fold, within one",
          "[split]") {
  const auto kept = sparse_kept(1201);
  const auto labels = unbalanced_labels(1201, 10, 17);
  const auto all = class_counts(kept, kept, labels);
  for (uint32_t folds : {3u, 5u, 11u}) {
    CvSettings cv = settings(Protocol::stratified_kfold);
    cv.folds = folds;
    cv.repeats = 2;
    const auto splits = make_cv_splits(kept, labels, cv, 99);
    INFO("folds " << folds);
    check_folds(splits, kept, folds, 2);
    for (const auto& s : splits) {
      const auto in_val = class_counts(s.split.val, kept, labels);
      for (const auto& [c, nc] : all) {
        const uint32_t got = in_val.count(c) ? in_val.at(c) : 0;
        INFO("class " << int(c) << ": " << nc << " images, " << got << " in fold " << s.fold);
        CHECK(std::abs(double(got) - double(nc) / folds) < 1.0);
      }
    }
  }
  // A plain kfold on the same labels is not stratified: some fold misses a
  // class's share by more than one (class 0 is rare, the others are not).
  CvSettings plain = settings(Protocol::kfold);
  plain.folds = 5;
  bool off = false;
  for (const auto& s : make_cv_splits(kept, labels, plain, 99))
    for (const auto& [c, got] : class_counts(s.split.val, kept, labels))
      off = off || std::abs(double(got) - double(all.at(c)) / 5) >= 1.0;
  CHECK(off);
}

TEST_CASE("cv: splits are seeded: the same seed repeats them, another changes them",
          "[split]") {
  const auto kept = sparse_kept(240);
  const auto labels = unbalanced_labels(240, 4, 2);
  for (Protocol p : {Protocol::holdout, Protocol::stratified_holdout, Protocol::repeated_random,
                     Protocol::kfold, Protocol::stratified_kfold, Protocol::leave_p_out}) {
    CvSettings cv = settings(p);
    cv.val = fraction(0.25);
    cv.folds = 4;
    cv.p = 3;
    cv.max_splits = 20;
    INFO(fovea::data::protocol_name(p));
    const auto a = make_cv_splits(kept, labels, cv, 1000);
    const auto b = make_cv_splits(kept, labels, cv, 1000);
    const auto c = make_cv_splits(kept, labels, cv, 1001);
    REQUIRE(a.size() == b.size());
    REQUIRE(a.size() == c.size());
    bool differs = false;
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].split.val == b[i].split.val);
      CHECK(a[i].split.train == b[i].split.train);
      differs = differs || a[i].split.val != c[i].split.val;
    }
    CHECK(differs);
  }
}

TEST_CASE("cv: leave-p-out enumerates every p-subset once under the guard", "[split]") {
  CHECK(fovea::data::leave_p_out_count(600, 2) == 179700);
  CHECK(fovea::data::leave_p_out_count(10, 3) == 120);
  CHECK(fovea::data::leave_p_out_count(60000, 1) == 60000);
  CHECK(fovea::data::leave_p_out_count(60000, 59999) == 60000);
  CHECK(fovea::data::leave_p_out_count(52, 5) == 2598960);
  CHECK(std::isinf(fovea::data::leave_p_out_count(60000, 30000)));
  const auto kept = sparse_kept(10);
  CvSettings cv = settings(Protocol::leave_p_out);
  cv.p = 3;
  const auto s = make_cv_splits(kept, {}, cv, 4);
  REQUIRE(s.size() == 120);
  std::set<std::vector<uint32_t>> seen;
  for (const auto& x : s) {
    check_cover(x, kept);
    CHECK(x.split.val.size() == 3);
    seen.insert(x.split.val);
  }
  CHECK(seen.size() == 120);
  cv.p = 1;  // leave-one-out: each image is the validation set once
  const auto loo = make_cv_splits(kept, {}, cv, 4);
  REQUIRE(loo.size() == 10);
  for (size_t i = 0; i < 10; ++i) CHECK(loo[i].split.val == std::vector<uint32_t>{kept[i]});
}

TEST_CASE("cv: the leave-p-out guard names n, p and the count, and --max-splits samples distinct subsets",
          "[split]") {
  const auto kept = iota_vec(600);
  CvSettings cv = settings(Protocol::leave_p_out);
  cv.p = 2;
  CHECK_THROWS_WITH(make_cv_splits(kept, {}, cv, 1),
                    Contains("n=600") && Contains("p=2") && Contains("179700 splits") &&
                        Contains("--max-splits"));
  cv.p = 300;
  CHECK_THROWS_WITH(make_cv_splits(kept, {}, cv, 1), Contains("p=300") && Contains("e+") && Contains("--max-splits"));
  for (uint32_t p : {2u, 300u, 599u}) {
    cv.p = p;
    cv.max_splits = 40;
    const auto s = make_cv_splits(kept, {}, cv, 6);
    INFO("p " << p);
    REQUIRE(s.size() == 40);
    std::set<std::vector<uint32_t>> seen;
    for (const auto& x : s) {
      check_cover(x, kept);
      CHECK(x.split.val.size() == p);
      seen.insert(x.split.val);
    }
    CHECK(seen.size() == 40);
    const auto again = make_cv_splits(kept, {}, cv, 6);
    CHECK(again[7].split.val == s[7].split.val);
  }
  // Sampling from a small enumeration (C(12, 2) = 66 < 4 x 40), and asking
  // for more than there are.
  const auto small = iota_vec(12);
  cv.p = 2;
  cv.max_splits = 40;
  const auto s = make_cv_splits(small, {}, cv, 3);
  std::set<std::vector<uint32_t>> seen;
  for (const auto& x : s) seen.insert(x.split.val);
  CHECK(s.size() == 40);
  CHECK(seen.size() == 40);
  cv.max_splits = 100;
  CHECK(make_cv_splits(small, {}, cv, 3).size() == 66);
}

TEST_CASE("cv: impossible settings are errors naming the option and value", "[split]") {
  const auto kept = iota_vec(50);
  const auto labels = unbalanced_labels(50, 3, 1);
  // Each case: the protocol, one field changed from the defaults, and two
  // pieces the message must hold.
  struct Case {
    Protocol protocol;
    void (*set)(CvSettings&);
    const char *a, *b;
  };
  const Case cases[] = {
      {Protocol::kfold, [](CvSettings& c) { c.folds = 1; }, "--folds 1", "at least 2"},
      {Protocol::kfold, [](CvSettings& c) { c.folds = 51; }, "--folds 51", "50 images"},
      {Protocol::kfold, [](CvSettings& c) { c.repeats = 0; }, "--repeats", "at least 1"},
      {Protocol::kfold, [](CvSettings& c) { c.folds = 50; c.repeats = 21; }, "1050 splits", "--folds or --repeats"},
      {Protocol::stratified_holdout, [](CvSettings& c) { c.val = count(0); }, "--val-split", "nothing to validate"},
      {Protocol::stratified_holdout, [](CvSettings& c) { c.val = count(50); }, "--val-split", "none to train on"},
      {Protocol::repeated_random, [](CvSettings& c) { c.repeats = 1001; }, "--repeats 1001", "1001 splits"},
      {Protocol::leave_p_out, [](CvSettings& c) { c.p = 0; }, "--p", "at least 1"},
      {Protocol::leave_p_out, [](CvSettings& c) { c.p = 50; }, "--p 50", "50 images"},
      {Protocol::leave_p_out, [](CvSettings& c) { c.max_splits = 1001; }, "--max-splits 1001", "1000"},
  };
  for (const Case& c : cases) {
    CvSettings cv = settings(c.protocol);
    c.set(cv);
    INFO(c.a << " / " << c.b);
    CHECK_THROWS_WITH(make_cv_splits(kept, labels, cv, 1), Contains(c.a) && Contains(c.b));
  }
  CHECK_THROWS_WITH(make_cv_splits({}, {}, settings(Protocol::kfold), 1), Contains("no images"));
}
