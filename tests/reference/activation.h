// activation reference: element-wise non-linearities and their gradients.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

// x: [n] -> y: [n] = max(x, 0)
Tensor relu_forward(const Tensor& x);

// y: [n] (the forward output), dy: [n] -> dx: [n] = dy where y > 0, else 0
// (the subgradient at 0 is 0, as in PyTorch)
Tensor relu_backward(const Tensor& y, const Tensor& dy);

}  // namespace fovea::ref
