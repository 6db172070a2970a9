// Shared by the op tests: tolerances, garbage fill, and the finite-difference
// check every backward kernel must pass. Header only (not a test file).
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/split.h"
#include "gpu/harness.h"
#include "reference/tensor.h"

namespace fovea::test {

// Absolute tolerance for a float32 dot product of length K over values of
// magnitude <= 1, summed sequentially: the rounding error's spread grows
// about linearly with K here (~1e-8 K), so 5e-8 K is several sigma, yet a
// single lost term (~0.3) or a wrong stride is thousands of times larger.
inline double gemm_atol(uint64_t K) { return std::max(1e-5, 5e-8 * double(K)); }
constexpr double kGemmRtol = 1e-4;

// Values a kernel must overwrite (or, where stated, leave alone): random and
// large, so a deleted kernel or a skipped element never matches by chance.
inline std::vector<float> garbage(uint64_t n, uint64_t seed) {
  return random_floats(n, seed + 0xbad, 1000.0f, 2000.0f);
}

// Up to `max` distinct indices of [0, n), spread evenly, first and last included.
inline std::vector<uint64_t> sample_indices(uint64_t n, uint64_t max) {
  std::vector<uint64_t> idx;
  if (n <= max) {
    for (uint64_t i = 0; i < n; ++i) idx.push_back(i);
    return idx;
  }
  for (uint64_t s = 0; s < max; ++s) idx.push_back(s * (n - 1) / (max - 1));
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  return idx;
}

// n distinct values, shuffled, none zero, at least 2/n apart: a finite
// difference step below 1/n never changes which tap wins a window (and
// none is nearer 0 than 0.5/n).
inline std::vector<float> distinct_floats(uint64_t n, uint64_t seed) {
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  data::Rng rng(seed);
  data::shuffle(order, rng);
  std::vector<float> v(n);
  for (uint64_t i = 0; i < n; ++i) v[i] = float(-1.0 + (2.0 * order[i] + 0.5) / double(n));
  return v;
}

// L(x) = sum(op(x) ⊙ dy): its gradient is the op's backward of dy.
inline double weighted_sum(const ref::Tensor& y, const std::vector<float>& dy) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += y[i] * dy[i];
  return s;
}

// The mean of independent samples and its standard error, for the
// statistical tests of random layers: a value within 4.5 standard errors of
// its expectation fails by chance about once in 150,000 runs.
struct SampleMean {
  double mean = 0, se = 0;
};
inline SampleMean sample_mean(const std::vector<double>& v) {
  double s = 0, ss = 0;
  for (double x : v) s += x;
  const double mean = s / double(v.size());
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / double(v.size() - 1) / double(v.size()))};
}
inline void check_expectation(const std::vector<double>& samples, double expected, const std::string& what) {
  const SampleMean m = sample_mean(samples);
  INFO(what << ": mean " << m.mean << ", expected " << expected << ", standard error " << m.se << " over "
            << samples.size() << " samples");
  CHECK(m.se > 0);
  CHECK(std::fabs(m.mean - expected) <= 4.5 * m.se);
}

// Compares gpu_grad (the backward kernel's output for dL/dv) with central
// differences (L(v + eps e_i) - L(v - eps e_i)) / 2 eps of the double
// scalar loss `L` at a sample of entries i of `v`.
inline void check_finite_differences(const std::vector<float>& gpu_grad, ref::Tensor v,
                                     const std::function<double(const ref::Tensor&)>& L,
                                     double eps, uint64_t max_samples, double atol, double rtol,
                                     const std::string& what) {
  REQUIRE(gpu_grad.size() == v.size());
  std::vector<float> got;
  std::vector<double> want;
  for (uint64_t i : sample_indices(v.size(), max_samples)) {
    const double v0 = v[i];
    v[i] = v0 + eps;
    const double up = L(v);
    v[i] = v0 - eps;
    const double down = L(v);
    v[i] = v0;
    got.push_back(gpu_grad[i]);
    want.push_back((up - down) / (2 * eps));
  }
  check_close(got, want, atol, rtol, what + " vs finite differences (element = sample number)");
}

}  // namespace fovea::test
