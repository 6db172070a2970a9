// tensor reference: add, and channel concatenation of NCHW tensors.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

Tensor add(const Tensor& a, const Tensor& b);
// y = a, except y[e stride] = beta a[e stride] + alpha b[e stride] for e < count.
Tensor axpy(const Tensor& a, const Tensor& b, uint64_t count, uint32_t stride, double alpha, double beta);
// Concatenates [B, C_i, plane] tensors along channels -> [B, sum C_i, plane].
Tensor concat_channels(const std::vector<Tensor>& xs, const std::vector<uint32_t>& channels,
                       uint32_t batch, uint32_t plane);

}  // namespace fovea::ref
