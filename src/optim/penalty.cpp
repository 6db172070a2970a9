// Weight penalties and gradient clipping, the host side (optim/penalty.h).
#include "optim/penalty.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "util/error.h"

namespace fovea::ops {

namespace {

// A value as the option errors print it (%g, as the optimizer's).
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

void validate_regularization(const RegularizeConfig& r) {
  auto require = [](double v, const std::string& option) {
    if (!(v >= 0) || !std::isfinite(v)) throw Error(option + " must be a number >= 0, got " + number(v));
  };
  require(r.l1, "--l1");
  require(r.l2, "--l2");
  require(r.clip_norm, "--clip-norm");
  require(r.clip_value, "--clip-value");
}

double penalty_value(const float* w, uint64_t n, double l1, double l2) {
  double a = 0, q = 0;
  for (uint64_t i = 0; i < n; ++i) {
    a += std::abs(double(w[i]));
    q += double(w[i]) * double(w[i]);
  }
  return l1 * a + 0.5 * l2 * q;
}

}  // namespace fovea::ops
