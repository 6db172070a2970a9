// conv_transpose2d reference: PyTorch's ConvTranspose2d as the direct
// scatter loops in double, and its gradients as the same loops read
// backwards. x: [B, C, H, W], w: [C, O/groups, KH, KW], b: [O] (empty =
// none), y: [B, O, OH, OW];
//   y[b, g*og + o, h*SH - PH + i*DH, w*SW - PW + j*DW] += x[b, g*cg + c, h, w] * w[g*cg + c, o, i, j]
// for taps that land inside the output plane.
#pragma once
#include "ops/conv_transpose2d.h"
#include "reference/tensor.h"

namespace fovea::ref {

using ops::ConvTranspose2dShape;

Tensor conv_transpose2d_forward(const ConvTranspose2dShape& s, const Tensor& x, const Tensor& w,
                                const Tensor& b);

struct ConvTranspose2dGrads {
  Tensor dx, dw, db;
};
// dL/dx, dL/dw, dL/db for the upstream gradient dy = dL/dy.
ConvTranspose2dGrads conv_transpose2d_backward(const ConvTranspose2dShape& s, const Tensor& x,
                                               const Tensor& w, const Tensor& dy);

}  // namespace fovea::ref
