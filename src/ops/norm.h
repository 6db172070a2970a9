// norm: the normalisation layers on NCHW float tensors, forward and backward,
// with PyTorch's semantics: BatchNorm (nn.BatchNorm1d/2d; BatchNorm1d is the
// H = W = 1 case), LayerNorm over [C, H, W] (nn.LayerNorm([C, H, W])),
// InstanceNorm2d and GroupNorm. Every layer normalises a group of values,
//   xhat = (x - mean) / sqrt(var + eps),   var biased (divided by n),
//   y = gamma * xhat + beta                (the affine part when enabled)
// where a group is: BatchNorm, one channel over the valid rows and H*W;
// LayerNorm, one sample's C*H*W; InstanceNorm, one (sample, channel) plane;
// GroupNorm, one sample's C/groups channels over H*W.
//
// Packed views (at most 4 storage buffers per dispatch, so small vectors
// that one dispatch needs together travel in one view):
//   affine  [2, P]: gamma (row 0), then beta (row 1); P = C, or C*H*W for
//                   LayerNorm (elementwise). An invalid View = no affine part.
//   daffine [2, P]: dgamma, then dbeta, the same layout (overwritten, never
//                   accumulated); required exactly when affine is given.
//   saved   [2, S]: the forward's mean (row 0), then invstd = 1/sqrt(var +
//                   eps) (row 1), per group: S = C (BatchNorm), N (LayerNorm),
//                   N*C (InstanceNorm), N*groups (GroupNorm, index n*groups + g).
//   running [2, C]: BatchNorm's running_mean, then running_var (read-write).
//
// Partial batches: rows n >= P.rows are padding. BatchNorm's statistics and
// every parameter gradient use the valid rows only; padding rows get y = 0
// and dx = 0 (finite whatever they hold). Per-sample groups of padding rows
// get mean 0, invstd 1/sqrt(eps).
//
// Long reductions: every group reduction (BatchNorm's rows*H*W values per
// channel, LayerNorm's C*H*W, GroupNorm's C/groups*H*W, InstanceNorm's H*W)
// is split rather than limited: chunks of 16,384 units (a unit is 4 floats when
// H*W is a multiple of 4, else 1), each summed by one 64-lane workgroup into
// the program's scratch, then added in chunk order by the finalize pass
// (deterministic; no float atomics). Limits, each a clear fovea::Error when
// recording: N*C*H*W < 2^31; at most 16,384 chunks per group (2^28 units);
// the parameter gradients of LayerNorm, InstanceNorm and GroupNorm sum over
// the batch in one loop per lane, so batch <= 16,384 for them.
//
// BatchNorm has two backwards: the training-mode one (through the batch
// statistics) and the evaluation-mode one with the running statistics held
// constant (the sharpness probe differentiates the evaluation-mode loss).
//
// Dispatches: forward = reduce, finalize, apply (BatchNorm evaluation: apply
// only); backward = reduce, finalize, apply, parameter sums (none without
// affine). Scratch (small, per-group): label + ".stats.partials" (forward),
// label + ".grad.partials" and label + ".coef" (backward). Outputs must not
// alias inputs (the backward reads x, which a fused in-place forward would
// have overwritten).
#pragma once
#include "ops/common.h"

namespace fovea::ops {

constexpr float kNormEps = 1e-5f;             // PyTorch's default eps
constexpr float kBatchNormMomentum = 0.1f;    // PyTorch's default momentum
constexpr uint32_t kNormMaxBatch = 16384;     // per-sample norms' parameter gradients

// x, y, dy, dx: [batch, channels, height, width], contiguous.
struct NormShape {
  uint32_t batch = 0, channels = 0, height = 1, width = 1;
};

// BatchNorm, training: statistics of this batch (valid rows only), saved for
// the backward pass; running = (1 - momentum) running + momentum * (mean,
// var * n/(n - 1)), n = valid rows * H*W (PyTorch's unbiased running_var).
// Throws when batch*H*W == 1 ("Expected more than 1 value per channel when
// training", as PyTorch); a partial batch with one valid value per channel
// leaves the running statistics unchanged.
void record_batchnorm_forward_train(Program& p, const NormShape& s, float eps, float momentum,
                                    const View& x, const View& affine, const View& y,
                                    const View& saved, const View& running,
                                    const std::string& label);
// BatchNorm, evaluation: normalises with the running statistics, which it
// only reads.
void record_batchnorm_forward_eval(Program& p, const NormShape& s, float eps, const View& x,
                                   const View& affine, const View& running, const View& y,
                                   const std::string& label);
// BatchNorm backward in training mode (through the batch statistics):
//   dx = gamma invstd / n (n dy - sum dy - xhat sum(dy xhat)),
//   dgamma = sum dy xhat, dbeta = sum dy   (sums over valid rows and H*W)
void record_batchnorm_backward(Program& p, const NormShape& s, const View& x, const View& dy,
                               const View& affine, const View& saved, const View& dx,
                               const View& daffine, const std::string& label);
// BatchNorm backward in evaluation mode (running statistics constant),
// xhat = (x - running_mean) / sqrt(running_var + eps):
//   dx = gamma dy / sqrt(running_var + eps),
//   dgamma = sum dy xhat, dbeta = sum dy   (sums over valid rows and H*W)
// Same dispatches as the training backward; any batch size (1 included).
void record_batchnorm_backward_eval(Program& p, const NormShape& s, float eps, const View& x,
                                    const View& dy, const View& affine, const View& running,
                                    const View& dx, const View& daffine, const std::string& label);

// Synchronised BatchNorm (data-parallel training with --sync-bn, like
// PyTorch's SyncBatchNorm): statistics and backward sums span the rows of
// every rank. Each training pass is split at a host exchange
// (src/dist/sync_bn.h):
//   1. record_batchnorm_partials: norm/reduce writes this rank's partials
//      [C, K, 3] (A, B, shift per chunk, as in norm/reduce) to `partials`,
//      a host-visible view; returns K.
//   2. the host sums them over the ranks into `summed`: [C, 3] (A, B about a
//      shift common to all ranks, the shift); for the backward followed by
//      this rank's own partials [C, K, 3].
//   3. record_batchnorm_forward_synced / _backward_synced record the rest of
//      the pass from summed, with n = the global batch's valid rows
//      (P.loss_rows) * H*W, so the running variance's n/(n - 1) is global
//      too. dgamma, dbeta stay this rank's share (the gradient all-reduce
//      adds the ranks' shares).
// batchnorm_sync_floats: the floats partials and summed need at most.
uint64_t batchnorm_sync_floats(const NormShape& s);
uint32_t record_batchnorm_partials(Program& p, const NormShape& s, bool backward, const View& x,
                                   const View& dy, const View& partials,
                                   const std::string& label);
void record_batchnorm_forward_synced(Program& p, const NormShape& s, float eps, float momentum,
                                     const View& x, const View& affine, const View& y,
                                     const View& saved, const View& running, const View& summed,
                                     const std::string& label);
void record_batchnorm_backward_synced(Program& p, const NormShape& s, const View& x,
                                      const View& dy, const View& affine, const View& saved,
                                      const View& dx, const View& daffine, const View& summed,
                                      uint32_t chunks, const std::string& label);

// LayerNorm over each sample's [C, H, W]; affine elementwise [2, C*H*W].
void record_layernorm_forward(Program& p, const NormShape& s, float eps, const View& x,
                              const View& affine, const View& y, const View& saved,
                              const std::string& label);
void record_layernorm_backward(Program& p, const NormShape& s, const View& x, const View& dy,
                               const View& affine, const View& saved, const View& dx,
                               const View& daffine, const std::string& label);

// InstanceNorm2d (track_running_stats = False): per (sample, channel) over
// H*W; affine per channel (PyTorch's default is affine = False: pass View{}).
// Throws when H*W == 1, as PyTorch ("Expected more than 1 spatial element").
void record_instancenorm_forward(Program& p, const NormShape& s, float eps, const View& x,
                                 const View& affine, const View& y, const View& saved,
                                 const std::string& label);
void record_instancenorm_backward(Program& p, const NormShape& s, const View& x, const View& dy,
                                  const View& affine, const View& saved, const View& dx,
                                  const View& daffine, const std::string& label);

// GroupNorm(groups, C): per sample over C/groups channels and H*W; affine
// per channel. channels must be a multiple of groups.
void record_groupnorm_forward(Program& p, const NormShape& s, uint32_t groups, float eps,
                              const View& x, const View& affine, const View& y,
                              const View& saved, const std::string& label);
void record_groupnorm_backward(Program& p, const NormShape& s, uint32_t groups, const View& x,
                               const View& dy, const View& affine, const View& saved,
                               const View& dx, const View& daffine, const std::string& label);

}  // namespace fovea::ops
