// channel_scale reference: squeeze-excitation's per-(row, channel) scale of
// a plane, y[r, p] = x[r, p] s[r] (r = b * C + c), and its gradients.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

// x: [rows, plane], s: [rows] -> y: [rows, plane]
Tensor channel_scale(const Tensor& x, const Tensor& s, uint64_t rows, uint64_t plane);
// ds[r] = sum_p dy[r, p] x[r, p] (dx is channel_scale(dy, s)).
Tensor channel_scale_ds(const Tensor& x, const Tensor& dy, uint64_t rows, uint64_t plane);

}  // namespace fovea::ref
