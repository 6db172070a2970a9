// norm reference: BatchNorm, LayerNorm([C, H, W]), InstanceNorm2d and
// GroupNorm on NCHW tensors, PyTorch's definitions computed in double, plus
// the conventions of ops/norm.h for partial batches (rows >= `rows` are
// padding: outside every statistic and parameter gradient, y = dx = 0).
#pragma once
#include <cstdint>

#include "reference/tensor.h"

namespace fovea::ref {

enum class NormKind { Batch, Layer, Instance, Group };

struct NormSpec {
  NormKind kind = NormKind::Batch;
  uint32_t batch = 0, channels = 0, height = 1, width = 1;
  uint32_t groups = 1;  // GroupNorm only
  uint32_t rows = 0;    // valid rows of the batch
  double eps = 1e-5;
};

// Statistics groups (in ops/norm.h's order): BatchNorm C; LayerNorm N;
// InstanceNorm N*C; GroupNorm N*groups. Affine length: C, or C*H*W (Layer).
uint64_t norm_stat_groups(const NormSpec& s);
uint64_t norm_affine_size(const NormSpec& s);

struct NormForward {
  Tensor y;              // [N, C, H, W]; 0 on padding rows
  Tensor mean, invstd;   // per statistics group; padding groups 0 and 1/sqrt(eps)
  Tensor var;            // biased variance per group
  Tensor count;          // values per group (0 for padding groups)
};

// xhat = (x - mean) / sqrt(var + eps) per group; y = gamma xhat + beta, with
// no affine part when gamma is empty. BatchNorm uses the batch statistics
// (training mode).
NormForward norm_forward(const NormSpec& s, const Tensor& x, const Tensor& gamma,
                         const Tensor& beta);

struct NormGrads {
  Tensor dx;              // [N, C, H, W]; 0 on padding rows
  Tensor dgamma, dbeta;   // empty without affine
};

// Gradients of L = sum(y ⊙ dy) through the group statistics:
//   dx = invstd (g - mean(g) - xhat mean(g xhat)),  g = dy gamma,
//   dgamma = sum dy xhat, dbeta = sum dy  (over valid rows)
NormGrads norm_backward(const NormSpec& s, const Tensor& x, const Tensor& dy, const Tensor& gamma);

// BatchNorm evaluation: y = gamma (x - running_mean) / sqrt(running_var + eps) + beta.
Tensor batchnorm_forward_eval(const NormSpec& s, const Tensor& x, const Tensor& gamma,
                              const Tensor& beta, const Tensor& running_mean,
                              const Tensor& running_var);

// Its backward (running statistics constant), xhat as above, over valid rows:
//   dx = gamma dy / sqrt(running_var + eps), dgamma = sum dy xhat, dbeta = sum dy
NormGrads batchnorm_backward_eval(const NormSpec& s, const Tensor& x, const Tensor& dy,
                                  const Tensor& gamma, const Tensor& running_mean,
                                  const Tensor& running_var);

// PyTorch's update after a training forward with n = rows*H*W values per channel:
//   running_mean = (1 - m) running_mean + m mean,
//   running_var  = (1 - m) running_var  + m var n / (n - 1)
// (none for n <= 1, a batch PyTorch rejects: ops/norm.h leaves them alone)
void batchnorm_update_running(const NormForward& f, double momentum, Tensor& running_mean,
                              Tensor& running_var);

}  // namespace fovea::ref
