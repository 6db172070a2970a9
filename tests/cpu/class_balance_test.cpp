// Imbalanced classes on the host (train/class_balance.h): --class-weights'
// balanced formula n / (K n_c) and its errors, the balanced sampler's class
// frequencies, determinism and epoch independence, and the balanced
// accuracy (mean recall over the classes present).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "train/class_balance.h"
#include "util/error.h"

using Catch::Contains;
using fovea::train::balanced_order;
using fovea::train::class_weights;

namespace {

// 900 images of class 0, 90 of class 1, 10 of class 2, none of class 3.
std::vector<uint32_t> skewed_labels() {
  std::vector<uint32_t> labels(1000, 0);
  for (uint32_t i = 900; i < 990; ++i) labels[i] = 1;
  for (uint32_t i = 990; i < 1000; ++i) labels[i] = 2;
  return labels;
}

std::vector<uint32_t> all(size_t n) {
  std::vector<uint32_t> v(n);
  std::iota(v.begin(), v.end(), 0u);
  return v;
}

}  // namespace

TEST_CASE("class weights: none, balanced n / (K n_c) over the training images, explicit, errors") {
  const std::vector<uint32_t> labels = skewed_labels();
  CHECK(class_weights("none", labels, all(1000), 4).empty());
  const std::vector<float> w = class_weights("balanced", labels, all(1000), 4);
  REQUIRE(w.size() == 4);
  CHECK(w[0] == Approx(1000.0 / (4 * 900)));
  CHECK(w[1] == Approx(1000.0 / (4 * 90)));
  CHECK(w[2] == Approx(1000.0 / (4 * 10)));
  CHECK(w[3] == 0.0f);  // no training image
  // Only the run's training images count: the first 950 hold 900 of class 0, 50 of class 1.
  const std::vector<float> part = class_weights("balanced", labels, all(950), 4);
  CHECK(part[0] == Approx(950.0 / (4 * 900)));
  CHECK(part[1] == Approx(950.0 / (4 * 50)));
  CHECK(part[2] == 0.0f);
  CHECK(class_weights("1,2.5,0,3", labels, all(1000), 4) == std::vector<float>{1, 2.5f, 0, 3});
  CHECK_THROWS_WITH(class_weights("1,2", labels, all(1000), 4), Contains("has 2 weights for the model's 4 classes"));
  CHECK_THROWS_WITH(class_weights("1,-2,1,1", labels, all(1000), 4), Contains("'-2'"));
  CHECK_THROWS_WITH(class_weights("1,x,1,1", labels, all(1000), 4), Contains("'x'"));
  CHECK_THROWS_WITH(class_weights("1,2x,1,1", labels, all(1000), 4), Contains("'2x'"));
  CHECK_THROWS_WITH(class_weights("0,0,0,0", labels, all(1000), 4), Contains("every weight is 0"));
  CHECK_THROWS_WITH(fovea::train::balanced_sampler("often"), Contains("--sampler must be epoch or balanced"));
}

TEST_CASE("balanced sampler: classes drawn equally, with replacement, seeded by (seed, epoch)") {
  const std::vector<uint32_t> labels = skewed_labels();
  const std::vector<uint32_t> train = all(1000);
  const std::vector<uint32_t> order = balanced_order(train, labels, 4, 5, 0);
  REQUIRE(order.size() == train.size());
  std::vector<double> per_class(4, 0);
  std::vector<int> seen(1000, 0);
  for (uint32_t i : order) {
    REQUIRE(i < 1000);
    per_class[labels[i]] += 1;
    seen[i]++;
  }
  // 1000 draws over the 3 classes present: each near 333 (binomial sd 15).
  for (int k = 0; k < 3; ++k) CHECK(std::abs(per_class[size_t(k)] - 1000.0 / 3) < 75);
  CHECK(per_class[3] == 0);
  CHECK(*std::max_element(seen.begin() + 990, seen.end()) > 1);  // the 10 minority images recur
  CHECK(balanced_order(train, labels, 4, 5, 0) == order);
  CHECK(balanced_order(train, labels, 4, 5, 1) != order);
  CHECK(balanced_order(train, labels, 4, 6, 0) != order);
  CHECK(balanced_order({}, labels, 4, 5, 0).empty());
}

TEST_CASE("balanced accuracy is the mean recall over the classes with images") {
  fovea::train::ClassRecall r(3);
  const float right0[3] = {2, 1, 0}, right1[3] = {0, 2, 1}, wrong[3] = {3, 0, 0};
  for (int i = 0; i < 9; ++i) r.add(0, right0);  // class 0: 9 of 9
  r.add(1, right1);                             // class 1: 1 of 2
  r.add(1, wrong);
  CHECK(r.balanced_accuracy() == Approx((1.0 + 0.5) / 2));  // class 2 has no image: left out
  CHECK(fovea::train::ClassRecall(3).balanced_accuracy() == 0);
}
