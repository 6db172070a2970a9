#include "probe/spectrum.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"
#include "util/rng.h"

namespace fovea::train {

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

namespace {

double norm(const Vec& v) { return std::sqrt(dot(v, v)); }

void scale(Vec& v, double s) {
  for (double& x : v) x *= s;
}

// v -= (q . v) q for every q of Q, twice ("twice is enough": one pass
// leaves O(eps kappa) of Q in v, the second removes it).
void orthogonalise(Vec& v, const std::vector<Vec>& Q) {
  for (int pass = 0; pass < 2; ++pass)
    for (const Vec& q : Q) {
      const double c = dot(q, v);
      for (size_t i = 0; i < v.size(); ++i) v[i] -= c * q[i];
    }
}

// Unit-norm start vector with N(0, 1)-like entries (a sum of uniforms).
Vec start_vector(size_t n, uint64_t seed) {
  data::Rng rng(seed * 0x9e3779b97f4a7c15ull + 0x5bd1e995);
  Vec v(n);
  for (double& x : v) x = double(rng.uniform01()) + double(rng.uniform01()) + double(rng.uniform01()) - 1.5;
  scale(v, 1.0 / norm(v));
  return v;
}

bool moved_less(const std::vector<double>& now, const std::vector<double>& before, size_t k, double tol) {
  if (before.size() < k || now.size() < k) return false;
  for (size_t i = 0; i < k; ++i)
    if (std::fabs(now[i] - before[i]) >= tol * std::max(std::fabs(now[i]), 1e-300)) return false;
  return true;
}

void check_options(size_t n, const SpectrumOptions& o) {
  if (n == 0) throw Error("spectrum: an operator of size 0");
  if (o.top == 0) throw Error("spectrum: top must be at least 1");
  if (o.max_iterations == 0) throw Error("spectrum: max_iterations must be at least 1");
  if (!(o.tolerance > 0)) throw Error("spectrum: the tolerance must be > 0");
}

}  // namespace

std::vector<double> symmetric_eigenvalues(std::vector<double> a, size_t n, std::vector<double>* vectors) {
  if (a.size() != n * n) throw Error("symmetric_eigenvalues: the matrix is not n x n");
  std::vector<double> V;
  if (vectors) {
    V.assign(n * n, 0.0);
    for (size_t i = 0; i < n; ++i) V[i * n + i] = 1;
  }
  double total = 0;
  for (double x : a) total += x * x;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (size_t p = 0; p < n; ++p)
      for (size_t q = p + 1; q < n; ++q) off += 2 * a[p * n + q] * a[p * n + q];
    if (off <= 1e-30 * total) break;
    for (size_t p = 0; p < n; ++p)
      for (size_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0) continue;
        // The rotation (c, s) that zeroes a_pq: t = tan(theta), the smaller root.
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (size_t k = 0; k < n; ++k) {  // columns p, q
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (size_t k = 0; k < n; ++k) {  // rows p, q
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        if (vectors)
          for (size_t k = 0; k < n; ++k) {
            const double vkp = V[k * n + p], vkq = V[k * n + q];
            V[k * n + p] = c * vkp - s * vkq;
            V[k * n + q] = s * vkp + c * vkq;
          }
      }
  }
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return a[i * n + i] > a[j * n + j]; });
  std::vector<double> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = a[order[i] * n + order[i]];
  if (vectors) {
    vectors->assign(n * n, 0.0);
    for (size_t r = 0; r < n; ++r)
      for (size_t i = 0; i < n; ++i) (*vectors)[r * n + i] = V[r * n + order[i]];
  }
  return values;
}

SpectrumResult lanczos(size_t n, const MatVec& A, const SpectrumOptions& o) {
  check_options(n, o);
  SpectrumResult r;
  std::vector<Vec> Q{start_vector(n, o.seed)};
  std::vector<double> alpha, beta;  // T's diagonal and off-diagonal
  std::vector<double> previous;
  Vec w(n);
  const size_t steps = std::min<size_t>(o.max_iterations, n);
  for (size_t j = 0; j < steps; ++j) {
    A(Q[j], w);
    ++r.iterations;
    alpha.push_back(dot(Q[j], w));
    orthogonalise(w, Q);  // removes alpha_j q_j and beta_{j-1} q_{j-1} too
    const size_t k = alpha.size();
    std::vector<double> T(k * k, 0.0);
    for (size_t i = 0; i < k; ++i) {
      T[i * k + i] = alpha[i];
      if (i + 1 < k) T[i * k + i + 1] = T[(i + 1) * k + i] = beta[i];
    }
    std::vector<double> ritz = symmetric_eigenvalues(T, k);
    const double b = norm(w);
    // The Krylov space is invariant (b ~ 0): T's eigenvalues are A's.
    const bool exhausted = b <= 1e-12 * std::max(std::fabs(ritz.front()), 1e-300);
    const bool settled = k > o.top && moved_less(ritz, previous, o.top, o.tolerance);
    previous = ritz;
    if (exhausted || settled || k == steps) {
      r.converged = exhausted || settled;
      break;
    }
    beta.push_back(b);
    scale(w, 1.0 / b);
    Q.push_back(w);
  }
  previous.resize(std::min<size_t>(o.top, previous.size()));
  r.values = previous;
  return r;
}

SpectrumResult power_iteration(size_t n, const MatVec& A, const SpectrumOptions& o) {
  check_options(n, o);
  if (o.top != 1) throw Error("power iteration estimates one eigenvalue (top 1), not " + std::to_string(o.top));
  SpectrumResult r;
  Vec v = start_vector(n, o.seed), w(n);
  double lambda = 0;
  for (uint32_t i = 0; i < o.max_iterations; ++i) {
    A(v, w);
    ++r.iterations;
    const double next = dot(v, w), b = norm(w);
    const bool settled = i > 0 && std::fabs(next - lambda) < o.tolerance * std::fabs(next);
    lambda = next;
    if (settled || b == 0) {
      r.converged = true;
      break;
    }
    v = w;
    scale(v, 1.0 / b);
  }
  r.values = {lambda};
  return r;
}

Vec rademacher(size_t n, uint64_t seed) {
  data::Rng rng(seed * 0xd1b54a32d192ed03ull + 0x2545f491);
  Vec z(n);
  for (size_t i = 0; i < n; i += 64) {
    const uint64_t bits = rng.next();
    for (size_t b = 0; b < 64 && i + b < n; ++b) z[i + b] = (bits >> b) & 1 ? 1.0 : -1.0;
  }
  return z;
}

TraceEstimate hutchinson_trace(size_t n, const MatVec& A, uint32_t probes, uint64_t seed) {
  if (probes == 0) throw Error("the trace estimate needs at least 1 probe");
  std::vector<double> samples;
  Vec w(n);
  for (uint32_t k = 0; k < probes; ++k) {
    const Vec z = rademacher(n, seed + k);
    A(z, w);
    samples.push_back(dot(z, w));
  }
  TraceEstimate t;
  t.probes = probes;
  for (double s : samples) t.mean += s / probes;
  if (probes > 1) {
    double ss = 0;
    for (double s : samples) ss += (s - t.mean) * (s - t.mean);
    t.standard_error = std::sqrt(ss / (probes - 1) / probes);
  }
  return t;
}

}  // namespace fovea::train
