// dropout reference: the dropout family in double, given its masks. The
// masks come from the helpers here, which draw with ref::philox_* exactly as
// shaders/dropout/mask.comp keys them (draw m of stream, step, purpose).
#pragma once
#include <cstdint>

#include "reference/tensor.h"

namespace fovea::ref {

// keep[m] = philox_uniform(seed, stream, step, purpose, m) >= p, m < draws (1 or 0).
Tensor bernoulli_keep(uint32_t seed, uint32_t stream, uint32_t step, uint32_t purpose, double p,
                      uint64_t draws);
// 1 + sigma philox_normal(seed, stream, step, purpose, m), sigma = sqrt(p / (1 - p)).
Tensor gaussian_multipliers(uint32_t seed, uint32_t stream, uint32_t step, uint32_t purpose, double p,
                            uint64_t draws);

// Value i uses mask[i / group]; x: [count].
// Dropout (inverted): y = mask x / (1 - p), mask of 0/1.
Tensor dropout(const Tensor& x, const Tensor& keep, uint64_t group, double p);
// Gaussian: y = mask x, mask of multipliers.
Tensor scale_by_mask(const Tensor& x, const Tensor& mask, uint64_t group);
// PyTorch's AlphaDropout: x' = keep ? x : alpha' (alpha' = -scale alpha of
// SELU), y = a x' + b, a = ((1-p)(1 + p alpha'^2))^(-1/2), b = -a alpha' p.
Tensor alpha_dropout(const Tensor& x, const Tensor& keep, double p);
// dL/dx of alpha_dropout: a keep dy.
Tensor alpha_dropout_backward(const Tensor& dy, const Tensor& keep, double p);
// Stochastic depth ("row" mode): y = shortcut + keep[n] branch / (1 - p) per sample n of `features` values.
Tensor stochastic_depth(const Tensor& shortcut, const Tensor& branch, const Tensor& keep, uint64_t features,
                        double p);

}  // namespace fovea::ref
