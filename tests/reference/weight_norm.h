// weight_norm reference: weight standardization and spectral normalisation
// of a weight viewed as W [rows, cols] (row-major), with PyTorch's semantics
// (see src/ops/weight_norm.h), in double.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

struct WeightStandardize {
  Tensor w_hat;  // [rows, cols]: (W - mean_o) / sqrt(var_o + eps), var biased
  Tensor saved;  // [2, rows]: mean, then invstd = 1/sqrt(var + eps)
};
WeightStandardize weight_standardize(uint32_t rows, uint32_t cols, double eps, const Tensor& w);

// dW = invstd/F (F g - sum g - W_hat sum(g W_hat)) per row, g = dL/dW_hat.
Tensor weight_standardize_backward(uint32_t rows, uint32_t cols, const Tensor& w_hat,
                                   const Tensor& saved, const Tensor& dw_hat);

struct SpectralNorm {
  Tensor u, v;  // [rows], [cols]: after the power iterations (unchanged in evaluation)
  double sigma = 0;
  Tensor w_sn;  // [rows, cols] = W / sigma
};

// torch.nn.utils.spectral_norm's forward: in training, `iterations` times
// v = normalize(W^T u), u = normalize(W v) with normalize(x) = x / max(|x|, eps);
// then sigma = u^T W v (from the stored u, v in evaluation).
SpectralNorm spectral_norm(uint32_t rows, uint32_t cols, uint32_t iterations, bool training,
                           const Tensor& w, Tensor u, Tensor v, double eps = 1e-12);

// dW = dW_sn / sigma - (sum(dW_sn W) / sigma^2) u v^T  (u, v constants)
Tensor spectral_norm_backward(uint32_t rows, uint32_t cols, const Tensor& w, const Tensor& u,
                              const Tensor& v, double sigma, const Tensor& dw_sn);

}  // namespace fovea::ref
