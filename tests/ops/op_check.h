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
