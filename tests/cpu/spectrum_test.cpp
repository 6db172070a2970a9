// The host linear algebra of the sharpness probe: Jacobi on matrices with
// known spectra, Lanczos and power iteration through a host matvec, and
// Hutchinson's trace estimate.
#include <catch2/catch.hpp>
#include <cmath>

#include "data/split.h"
#include "probe/spectrum.h"

using namespace fovea;
using train::Vec;

namespace {

// Q diag(values) Q^T with Q = I - 2 u u^T / |u|^2 (a Householder reflection,
// orthogonal, dense for a random u): a dense symmetric matrix whose
// eigenvalues are exactly `values`.
std::vector<double> with_spectrum(const std::vector<double>& values, uint64_t seed) {
  const size_t n = values.size();
  data::Rng rng(seed);
  Vec u(n);
  for (double& x : u) x = double(rng.uniform01()) - 0.3;
  const double uu = train::dot(u, u);
  std::vector<double> Q(n * n), A(n * n, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) Q[i * n + j] = (i == j ? 1.0 : 0.0) - 2 * u[i] * u[j] / uu;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)
      for (size_t k = 0; k < n; ++k) A[i * n + j] += Q[i * n + k] * values[k] * Q[j * n + k];
  return A;
}

train::MatVec matvec(const std::vector<double>& A, size_t n, uint32_t* calls = nullptr) {
  return [&A, n, calls](const Vec& v, Vec& out) {
    out.assign(n, 0.0);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j) out[i] += A[i * n + j] * v[j];
    if (calls) ++*calls;
  };
}

// A Hessian-like spectrum: a few outliers above a bulk near 0, some negative.
std::vector<double> hessian_like(size_t n) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.5 * std::sin(double(i) * 1.7) + 0.2;
  v[17] = 40, v[3] = 25, v[90] = 12, v[41] = -3;
  return v;
}

}  // namespace

TEST_CASE("symmetric_eigenvalues: 2x2, known dense spectra and eigenvectors", "[spectrum]") {
  // [[2, 1], [1, 2]]: 3 and 1.
  const auto two = train::symmetric_eigenvalues({2, 1, 1, 2}, 2);
  CHECK(two[0] == Approx(3).epsilon(1e-14));
  CHECK(two[1] == Approx(1).epsilon(1e-14));
  for (size_t n : {1u, 5u, 31u}) {
    std::vector<double> values(n);
    for (size_t i = 0; i < n; ++i) values[i] = std::cos(double(i) * 2.3) * 3 + (i == 2 ? 0.0 : 0.1);
    const auto A = with_spectrum(values, n);
    std::vector<double> V;
    const auto got = train::symmetric_eigenvalues(A, n, &V);
    std::sort(values.rbegin(), values.rend());
    for (size_t i = 0; i < n; ++i) CHECK(got[i] == Approx(values[i]).margin(1e-12));
    // A v_i = lambda_i v_i, |v_i| = 1.
    for (size_t i = 0; i < n; ++i) {
      double residual = 0, norm = 0;
      for (size_t r = 0; r < n; ++r) {
        double av = 0;
        for (size_t k = 0; k < n; ++k) av += A[r * n + k] * V[k * n + i];
        residual += (av - got[i] * V[r * n + i]) * (av - got[i] * V[r * n + i]);
        norm += V[r * n + i] * V[r * n + i];
      }
      CHECK(std::sqrt(residual) < 1e-11);
      CHECK(norm == Approx(1).epsilon(1e-12));
    }
  }
  CHECK_THROWS(train::symmetric_eigenvalues({1, 2, 3}, 2));
}

TEST_CASE("lanczos finds the top eigenvalues of a known spectrum in few products", "[spectrum]") {
  const size_t n = 120;
  const auto values = hessian_like(n);
  const auto A = with_spectrum(values, 4);
  uint32_t calls = 0;
  train::SpectrumOptions o;
  o.top = 3;
  o.tolerance = 1e-10;
  o.max_iterations = 60;
  const train::SpectrumResult r = train::lanczos(n, matvec(A, n, &calls), o);
  REQUIRE(r.values.size() == 3);
  CHECK(r.values[0] == Approx(40).epsilon(1e-9));
  CHECK(r.values[1] == Approx(25).epsilon(1e-9));
  CHECK(r.values[2] == Approx(12).epsilon(1e-8));
  CHECK(r.converged);
  CHECK(r.iterations == calls);
  CHECK(r.iterations < 60);
  // A loose tolerance stops earlier, still near the top.
  o.top = 1;
  o.tolerance = 1e-3;
  const train::SpectrumResult quick = train::lanczos(n, matvec(A, n), o);
  CHECK(quick.iterations < r.iterations);
  CHECK(quick.values[0] == Approx(40).epsilon(1e-2));
  // The cap: 3 steps, not converged.
  o.max_iterations = 3;
  o.tolerance = 1e-12;
  const train::SpectrumResult capped = train::lanczos(n, matvec(A, n), o);
  CHECK(capped.iterations == 3);
  CHECK_FALSE(capped.converged);
  CHECK(capped.values[0] < 40 + 1e-9);  // Ritz values approach from below
}

TEST_CASE("lanczos on a small space is exact when the Krylov space is exhausted", "[spectrum]") {
  const std::vector<double> values = {4, -2, 1, 0.5, 3};
  const auto A = with_spectrum(values, 9);
  train::SpectrumOptions o;
  o.top = 5;
  o.tolerance = 1e-14;
  const train::SpectrumResult r = train::lanczos(5, matvec(A, 5), o);
  REQUIRE(r.values.size() == 5);
  const std::vector<double> want = {4, 3, 1, 0.5, -2};
  for (size_t i = 0; i < 5; ++i) CHECK(r.values[i] == Approx(want[i]).margin(1e-10));
  CHECK(r.iterations <= 5);
}

TEST_CASE("power iteration converges to the dominant eigenvalue", "[spectrum]") {
  const size_t n = 60;
  std::vector<double> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = 1 + 0.1 * double(i % 9);
  values[7] = 10;
  const auto A = with_spectrum(values, 3);
  train::SpectrumOptions o;
  o.tolerance = 1e-10;
  o.max_iterations = 500;
  const train::SpectrumResult r = train::power_iteration(n, matvec(A, n), o);
  CHECK(r.converged);
  CHECK(r.values[0] == Approx(10).epsilon(1e-8));
  o.top = 2;
  CHECK_THROWS(train::power_iteration(n, matvec(A, n), o));
}

TEST_CASE("hutchinson: exact on a diagonal, unbiased within its standard error on a dense matrix",
          "[spectrum]") {
  const size_t n = 50;
  const auto values = hessian_like(n + 50);
  std::vector<double> D(n * n, 0.0);
  double trace = 0;
  for (size_t i = 0; i < n; ++i) D[i * n + i] = values[i], trace += values[i];
  const train::TraceEstimate d = train::hutchinson_trace(n, matvec(D, n), 4, 1);
  CHECK(d.mean == Approx(trace).epsilon(1e-12));  // z_i^2 = 1
  CHECK(d.standard_error < 1e-9);
  const auto A = with_spectrum(std::vector<double>(values.begin(), values.begin() + int64_t(n)), 6);
  const train::TraceEstimate t = train::hutchinson_trace(n, matvec(A, n), 200, 2);
  INFO("trace " << trace << ", estimate " << t.mean << " +- " << t.standard_error);
  CHECK(t.probes == 200);
  CHECK(t.standard_error > 0);
  CHECK(std::fabs(t.mean - trace) <= 4.5 * t.standard_error);
  // Rademacher entries: +-1, about half each.
  const Vec z = train::rademacher(1000, 8);
  double plus = 0;
  for (double x : z) {
    REQUIRE(std::fabs(x) == 1.0);
    plus += x > 0;
  }
  CHECK(std::fabs(plus - 500) < 4.5 * std::sqrt(250.0));
}
