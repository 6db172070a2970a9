// dense reference: PyTorch's Linear (W is [out, in]) and its gradients, plus
// the general strided product the GPU kernel implements.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

// C(i, j) = sum_k A(i, k) * B(k, j) + bias[j] for i < M, j < N, with
// A(i, k) = a[i*a_rs + k*a_ks], B(k, j) = b[k*b_ks + j*b_cs] and C stored at
// c[i*c_rs + j]. Only those elements of c are written; bias may be empty.
struct GemmShape {
  uint32_t M = 0, N = 0, K = 0;
  uint32_t a_rs = 0, a_ks = 0, b_ks = 0, b_cs = 0, c_rs = 0;
};
void gemm(const GemmShape& g, const Tensor& a, const Tensor& b, const Tensor& bias, Tensor& c);

// x: [batch, in], w: [out, in], b: [out] (empty = no bias) -> y: [batch, out]
// y = x · W^T + b
Tensor dense_forward(uint32_t batch, uint32_t in, uint32_t out, const Tensor& x, const Tensor& w,
                     const Tensor& b);

// dy: [batch, out], w: [out, in] -> dx: [batch, in] = dy · W
Tensor dense_backward_input(uint32_t batch, uint32_t in, uint32_t out, const Tensor& dy,
                            const Tensor& w);

// x: [batch, in], dy: [batch, out] -> dw: [out, in] = dy^T · x (sum over batch)
Tensor dense_backward_weight(uint32_t batch, uint32_t in, uint32_t out, const Tensor& x,
                             const Tensor& dy);

// dy: [batch, out] -> db: [out] = sum over the batch of dy
Tensor dense_backward_bias(uint32_t batch, uint32_t out, const Tensor& dy);

}  // namespace fovea::ref
