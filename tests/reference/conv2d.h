// conv2d reference: PyTorch's Conv2d as direct loops in double, and its
// gradients as the adjoint loops. x: [B, C, H, W], w: [O, C/groups, KH, KW],
// b: [O] (empty = none), y: [B, O, OH, OW].
#pragma once
#include "ops/conv2d.h"
#include "reference/tensor.h"

namespace fovea::ref {

using ops::Conv2dShape;

Tensor conv2d_forward(const Conv2dShape& s, const Tensor& x, const Tensor& w, const Tensor& b);

struct Conv2dGrads {
  Tensor dx, dw, db;
};
// dL/dx, dL/dw, dL/db for the upstream gradient dy = dL/dy.
Conv2dGrads conv2d_backward(const Conv2dShape& s, const Tensor& x, const Tensor& w,
                            const Tensor& dy);

// The im2col columns conv2d's GEMMs read: cols[b, ck, p] = x at tap ck of
// output position p, 0 in the padding; [B, C*KH*KW, OH*OW].
Tensor conv2d_im2col(const Conv2dShape& s, const Tensor& x);
// The forward pass and the weight gradient computed from given columns (such
// as a GPU's fp16 columns): y = W · cols (+ b), dW = sum_b dy · cols^T.
Tensor conv2d_forward_from_cols(const Conv2dShape& s, const Tensor& cols, const Tensor& w, const Tensor& b);
Tensor conv2d_weight_grad_from_cols(const Conv2dShape& s, const Tensor& cols, const Tensor& dy);

}  // namespace fovea::ref
