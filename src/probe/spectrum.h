// Spectrum estimates of a symmetric operator known only through products
// A v (the loss Hessian of the sharpness probe, src/probe/sharpness.h), all
// in double on the host: Lanczos with full reorthogonalisation, power
// iteration, Hutchinson's trace estimate, and the cyclic Jacobi eigensolver
// they use for the small tridiagonal (and the tests for whole matrices).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace fovea::train {

using Vec = std::vector<double>;
// out = A v (out has v's size; its old contents are overwritten).
using MatVec = std::function<void(const Vec& v, Vec& out)>;

double dot(const Vec& a, const Vec& b);

// Eigenvalues of the symmetric n x n matrix `a` (row-major), descending,
// by cyclic Jacobi rotations until the off-diagonal mass is below 1e-15 of
// the Frobenius norm (at most 100 sweeps). With `vectors`, the matching unit
// eigenvectors as its columns (row-major n x n).
std::vector<double> symmetric_eigenvalues(std::vector<double> a, size_t n, std::vector<double>* vectors = nullptr);

struct SpectrumOptions {
  uint32_t top = 1;              // eigenvalues wanted (the largest, algebraically)
  double tolerance = 1e-3;       // relative change of each wanted value between steps
  uint32_t max_iterations = 30;  // Lanczos steps / power iterations (each one product)
  uint64_t seed = 0;             // the start vector
};

struct SpectrumResult {
  std::vector<double> values;  // descending, `top` of them (fewer if the space is smaller)
  uint32_t iterations = 0;     // products A v taken
  bool converged = false;
};

// Lanczos: k steps build an orthonormal Krylov basis Q (every new vector
// reorthogonalised against all of Q, twice) and the tridiagonal T = Q^T A Q;
// T's largest eigenvalues (Ritz values) approach A's from below. Stops when
// each of the top values moved by < tolerance relative since the last step
// (after at least top + 1 steps), when the Krylov space is exhausted
// (exact), or after max_iterations steps.
SpectrumResult lanczos(size_t n, const MatVec& A, const SpectrumOptions& o);

// Power iteration v <- A v / |A v|; the Rayleigh quotient v^T A v estimates
// the eigenvalue of largest magnitude (the largest when it dominates, as the
// top Hessian eigenvalue does in training). Stops when it moved by <
// tolerance relative, or after max_iterations products. top must be 1.
SpectrumResult power_iteration(size_t n, const MatVec& A, const SpectrumOptions& o);

// Hutchinson: tr A = E[z^T A z] for Rademacher z (entries +-1); the mean of
// `probes` samples and its standard error (sample standard deviation /
// sqrt(probes); 0 for one probe).
struct TraceEstimate {
  double mean = 0, standard_error = 0;
  uint32_t probes = 0;
};
TraceEstimate hutchinson_trace(size_t n, const MatVec& A, uint32_t probes, uint64_t seed);

// n entries +-1 from a seeded generator.
Vec rademacher(size_t n, uint64_t seed);

}  // namespace fovea::train
