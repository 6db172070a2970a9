// The generator, the validation holdout and the epoch shuffles: seeded,
// reproducible, unbiased, and strict about --val-split / --limit values.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
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
