#include "reference/weight_norm.h"

#include <algorithm>
#include <cmath>

namespace fovea::ref {

WeightStandardize weight_standardize(uint32_t rows, uint32_t cols, double eps, const Tensor& w) {
  WeightStandardize r;
  r.w_hat.resize(uint64_t(rows) * cols);
  r.saved.resize(2ull * rows);
  for (uint64_t o = 0; o < rows; ++o) {
    const double* x = &w[o * cols];
    double mean = 0;
    for (uint64_t j = 0; j < cols; ++j) mean += x[j];
    mean /= cols;
    double var = 0;  // two passes: exact enough for any offset
    for (uint64_t j = 0; j < cols; ++j) var += (x[j] - mean) * (x[j] - mean);
    var /= cols;
    const double invstd = 1.0 / std::sqrt(var + eps);
    for (uint64_t j = 0; j < cols; ++j) r.w_hat[o * cols + j] = (x[j] - mean) * invstd;
    r.saved[o] = mean;
    r.saved[rows + o] = invstd;
  }
  return r;
}

Tensor weight_standardize_backward(uint32_t rows, uint32_t cols, const Tensor& w_hat,
                                   const Tensor& saved, const Tensor& dw_hat) {
  Tensor dw(uint64_t(rows) * cols);
  for (uint64_t o = 0; o < rows; ++o) {
    const double* g = &dw_hat[o * cols];
    const double* wh = &w_hat[o * cols];
    double sg = 0, sgw = 0;
    for (uint64_t j = 0; j < cols; ++j) {
      sg += g[j];
      sgw += g[j] * wh[j];
    }
    const double invstd = saved[rows + o];
    for (uint64_t j = 0; j < cols; ++j)
      dw[o * cols + j] = invstd / cols * (double(cols) * g[j] - sg - wh[j] * sgw);
  }
  return dw;
}

namespace {

void normalize(Tensor& x, double eps) {
  double n = 0;
  for (double e : x) n += e * e;
  n = std::max(std::sqrt(n), eps);
  for (double& e : x) e /= n;
}

// y = W x: [rows]
Tensor mv(uint32_t rows, uint32_t cols, const Tensor& w, const Tensor& x) {
  Tensor y(rows, 0.0);
  for (uint64_t o = 0; o < rows; ++o)
    for (uint64_t j = 0; j < cols; ++j) y[o] += w[o * cols + j] * x[j];
  return y;
}

// y = W^T x: [cols]
Tensor mtv(uint32_t rows, uint32_t cols, const Tensor& w, const Tensor& x) {
  Tensor y(cols, 0.0);
  for (uint64_t o = 0; o < rows; ++o)
    for (uint64_t j = 0; j < cols; ++j) y[j] += w[o * cols + j] * x[o];
  return y;
}

}  // namespace

SpectralNorm spectral_norm(uint32_t rows, uint32_t cols, uint32_t iterations, bool training,
                           const Tensor& w, Tensor u, Tensor v, double eps) {
  SpectralNorm r;
  if (training) {
    for (uint32_t i = 0; i < iterations; ++i) {
      v = mtv(rows, cols, w, u);
      normalize(v, eps);
      u = mv(rows, cols, w, v);
      normalize(u, eps);
    }
  }
  const Tensor wv = mv(rows, cols, w, v);
  r.sigma = 0;
  for (uint64_t o = 0; o < rows; ++o) r.sigma += u[o] * wv[o];
  r.w_sn.resize(w.size());
  for (uint64_t e = 0; e < w.size(); ++e) r.w_sn[e] = w[e] / r.sigma;
  r.u = std::move(u);
  r.v = std::move(v);
  return r;
}

Tensor spectral_norm_backward(uint32_t rows, uint32_t cols, const Tensor& w, const Tensor& u,
                              const Tensor& v, double sigma, const Tensor& dw_sn) {
  double d = 0;
  for (uint64_t e = 0; e < w.size(); ++e) d += dw_sn[e] * w[e];
  const double c = d / (sigma * sigma);
  Tensor dw(uint64_t(rows) * cols);
  for (uint64_t o = 0; o < rows; ++o)
    for (uint64_t j = 0; j < cols; ++j)
      dw[o * cols + j] = dw_sn[o * cols + j] / sigma - c * u[o] * v[j];
  return dw;
}

}  // namespace fovea::ref
