// dense: y = x · W^T + b (PyTorch's Linear: W is [out, in]), and its
// gradients. All three products run on one strided GEMM kernel.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

// C[M, N] = A(M x K) · B(K x N) with A(i,k) = a[i*a_rs + k*a_ks] and
// B(k,j) = b[k*b_ks + j*b_cs]; C row stride c_rs. bias (optional: pass an
// invalid View) is added per column.
struct GemmShape {
  uint32_t M = 0, N = 0, K = 0;
  uint32_t a_rs = 0, a_ks = 0, b_ks = 0, b_cs = 0, c_rs = 0;
};
void record_gemm(Program& p, const GemmShape& g, const View& a, const View& b, const View& bias,
                 const View& c, const std::string& label);

struct DenseShape {
  uint32_t batch = 0, in = 0, out = 0;
  bool bias = true;
};

// x [batch, in], w [out, in], b [out] -> y [batch, out]
void record_dense_forward(Program& p, const DenseShape& s, const View& x, const View& w,
                          const View& b, const View& y, const std::string& label);
// dx [batch, in] = dy [batch, out] · w [out, in]
void record_dense_backward_input(Program& p, const DenseShape& s, const View& dy, const View& w,
                                 const View& dx, const std::string& label);
// dw [out, in] = dy^T · x (a reduction over the batch); db [out] = column
// sums of dy. Both overwrite (no accumulation across steps).
void record_dense_backward_params(Program& p, const DenseShape& s, const View& x, const View& dy,
                                  const View& dw, const View& db, const std::string& label);

}  // namespace fovea::ops
