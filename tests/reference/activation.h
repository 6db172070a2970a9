// activation reference: element-wise non-linearities and their gradients,
// PyTorch's definitions computed in double (std::erf, std::expm1,
// std::log1p), with the kinds and parameters of ops/activation.h.
#pragma once
#include "ops/activation.h"
#include "reference/tensor.h"

namespace fovea::ref {

// x: [n] -> y: [n] = max(x, 0)
Tensor relu_forward(const Tensor& x);

// y: [n] (the forward output), dy: [n] -> dx: [n] = dy where y > 0, else 0
// (the subgradient at 0 is 0, as in PyTorch)
Tensor relu_backward(const Tensor& y, const Tensor& dy);

// x: [n] -> y: [n] = f(x) (see ops::Activation for each definition)
Tensor activation_forward(ops::Activation a, const ops::ActivationParams& q, const Tensor& x);

// dx: [n] = dy * f'(.), from y for Tanh and Sigmoid (1 - y^2, y (1 - y))
// and from x for the others, as the kernel; the unused tensor may be empty.
// Kinks take PyTorch's branches: ReLU 0, LeakyReLU slope, ELU/SELU x <= 0.
Tensor activation_backward(ops::Activation a, const ops::ActivationParams& q, const Tensor& x,
                           const Tensor& y, const Tensor& dy);

}  // namespace fovea::ref
