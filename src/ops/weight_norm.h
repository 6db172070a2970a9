// weight_norm: reparametrisations of a weight tensor viewed as a matrix
// W [rows, cols] (rows = O output units or channels, cols = F = fan-in:
// in_features for dense, (C/groups)*KH*KW for conv2d), row-major and
// contiguous. The layer then runs on the reparametrised weight, and its
// weight gradient goes through the matching backward here.
//
//   Weight standardization (Qiao et al. 2019), per row o:
//     W_hat[o, :] = (W[o, :] - mean_o) / sqrt(var_o + eps),  var biased (/F)
//   Spectral normalisation (Miyato et al. 2018, torch.nn.utils.spectral_norm):
//     W_sn = W / sigma,  sigma = u^T W v, u and v from power iteration
//
// eps of weight standardization sits inside the square root of the biased
// variance, default 1e-5: the common PyTorch form
// (w - mean) * rsqrt(var(unbiased=False) + eps). Some implementations add eps
// to the standard deviation or use the unbiased variance instead (the paper's
// code); the difference is of the order of eps/var, and eps is an argument.
//
// Long reductions are split, never limited by lavapipe's loop budget: rows
// are summed in chunks of 16,384 units (a unit is 4 floats when cols % 4 ==
// 0, else 1), one 64-lane workgroup per (row, chunk), partials added in chunk
// order by a second pass (deterministic, no float atomics). Rows beyond
// 65,535 continue in the dispatch's z dimension. Limits (fovea::Error when
// recording): rows*cols < 2^31; at most 16,384 chunks per row (cols <= 2^28,
// and 2^28 values for the flattened sum in spectral normalisation's
// backward); spectral normalisation rows + cols <= kSpectralMaxLength (its
// power-iteration step normalises u and v in one workgroup).
//
// No view may overlap another view of the same call.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

constexpr float kWeightStandardizeEps = 1e-5f;
constexpr float kSpectralNormEps = 1e-12f;  // PyTorch's normalize() eps
// Units one workgroup reduces (lavapipe's loop budget; see docs/architecture.md).
constexpr uint32_t kWeightNormChunk = 16384;
constexpr uint32_t kSpectralMaxLength = 262144;  // rows + cols

// ---- weight standardization ----------------------------------------------
//
// saved [2, rows]: mean_o (row 0), then invstd_o = 1/sqrt(var_o + eps) (row 1).
// Dispatches: rows of at most 16,384 units take one fused dispatch (forward:
// statistics and W_hat; backward: sums and dW); longer rows take three
// (partial sums, finalize, apply) with scratch label + ".partials" and, for
// the backward, label + ".coef".

// w, w_hat: [rows, cols]. A row with var 0 (cols == 1, or constant) gives
// W_hat = 0 and invstd = 1/sqrt(eps).
void record_weight_standardize_forward(Program& p, uint32_t rows, uint32_t cols, float eps,
                                       const View& w, const View& w_hat, const View& saved,
                                       const std::string& label);

// dL/dW from dL/dW_hat, per row (g = dL/dW_hat[o, :], invstd from saved):
//   dW = invstd/F (F g - sum(g) - W_hat sum(g ⊙ W_hat))
// w_hat and saved are the forward's outputs; dw is overwritten.
void record_weight_standardize_backward(Program& p, uint32_t rows, uint32_t cols, const View& w_hat,
                                        const View& saved, const View& dw_hat, const View& dw,
                                        const std::string& label);

// ---- spectral normalisation ----------------------------------------------
//
// uv: the persistent power-iteration state, one view so that every dispatch
// stays within 4 storage buffers: u [rows] at float 0, v [cols] at float
// spectral_v_offset(rows) (rows rounded up to a multiple of 4, so v is
// 16-byte aligned for vector loads; the gap is never read or written).
// The owner initialises u and v (PyTorch: normalize(randn)) and keeps them
// across steps. sigma: [1].
inline uint32_t spectral_v_offset(uint32_t rows) { return (rows + 3u) / 4u * 4u; }
inline uint64_t spectral_state_floats(uint32_t rows, uint32_t cols) {
  return uint64_t(spectral_v_offset(rows)) + cols;
}

// Training (power_iterations >= 1): each iteration updates the stored vectors
//   v = normalize(W^T u),  u = normalize(W v),  normalize(x) = x / max(|x|, 1e-12)
// then sigma = u^T W v and W_sn = W / sigma. Evaluation (training = false):
// u and v are only read; sigma = u^T W v with the stored vectors
// (power_iterations is ignored). One iteration computes t = W^T u and
// s = W t, then v = t/|t|' and W v = s/|t|' (the same product, without a
// pass over W for the normalised v). Dispatches per iteration: W^T u, W t,
// normalise (plus a dense/split_reduce pass for a product whose reduction
// exceeds 16,384 rows or units); then W / sigma. Scratch: label + ".t" and
// ".s", and the split products' partials.
void record_spectral_norm_forward(Program& p, uint32_t rows, uint32_t cols,
                                  uint32_t power_iterations, bool training, const View& w,
                                  const View& uv, const View& w_sn, const View& sigma,
                                  const std::string& label);

// dL/dW from dL/dW_sn with u and v constants (PyTorch computes them under
// no_grad), sigma = u^T W v so dsigma/dW = u v^T:
//   dW = dW_sn / sigma - (sum(dW_sn ⊙ W) / sigma^2) u v^T
// w, uv and sigma as the forward left them; dw is overwritten. Dispatches:
// partial sums of dW_sn ⊙ W, coefficients, apply. Scratch: label +
// ".partials", label + ".coef".
void record_spectral_norm_backward(Program& p, uint32_t rows, uint32_t cols, const View& w,
                                   const View& uv, const View& sigma, const View& dw_sn,
                                   const View& dw, const std::string& label);

}  // namespace fovea::ops
