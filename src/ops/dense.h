// dense: y = x · W^T + b (PyTorch's Linear: W is [out, in]), and its
// gradients. All three products run on one strided GEMM kernel.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

// C[M, N] = A(M x K) · B(K x N) with A(i,k) = a[i*a_rs + k*a_ks] and
// B(k,j) = b[k*b_ks + j*b_cs]; C row stride c_rs. bias (optional: pass an
// invalid View) is added per column, or per row with bias_per_row.
// Batched: `batch` independent products, operand b at offsets b*a_bs, b*b_bs
// (in floats); results at b*c_bs, or, with reduce_batch, summed over the
// batch into one C (in a fixed order).
struct GemmShape {
  uint32_t M = 0, N = 0, K = 0;
  uint32_t a_rs = 0, a_ks = 0, b_ks = 0, b_cs = 0, c_rs = 0;
  uint32_t batch = 1, a_bs = 0, b_bs = 0, c_bs = 0;
  uint32_t a_off = 0, b_off = 0, c_off = 0, bias_off = 0;  // start of each operand, floats
  bool reduce_batch = false;
  bool bias_per_row = false;
  // B holds fp16 values (conv2d's fp16 im2col columns, KernelPolicy::fp16_columns):
  // read by dense/gemm_b16 or dense/gemm_coopmat_b16, accumulated in fp32.
  bool b_f16 = false;
};
// Whether record_gemm takes the cooperative-matrix kernel (dense/gemm_coopmat*:
// fp16 operands, fp32 accumulation) for this product (KernelPolicy::coop_matrix):
// the options and device allow it and the product is large enough to pay,
// M and N at least 16 and 2 M N K batch at least kCoopMinFlops.
constexpr double kCoopMinFlops = 1 << 24;
bool gemm_coop_matrix(const gpu::Context& ctx, const GemmShape& g);
void record_gemm(Program& p, const GemmShape& g, const View& a, const View& b, const View& bias,
                 const View& c, const std::string& label);

// Split-K: no workgroup reduces more than kSplitK values (a multiple of 4),
// far inside lavapipe's 65,535 loop iterations per SIMD group.
constexpr uint32_t kSplitK = 16384;
// Split-K for occupancy (gpu::Context::occupancy_split_k, not with portable
// kernels; KernelPolicy::gemm_k_chunk): a GEMM with
// fewer than kFillGroups output tiles of 32x32 takes chunks of K of at least
// kMinSplitChunk (a multiple of 16) so that about kFillGroups workgroups run.
constexpr uint32_t kFillGroups = 256, kMinSplitChunk = 256;
// The K chunk record_gemm uses for this shape on this context.
uint32_t gemm_k_chunk(const gpu::Context& ctx, const GemmShape& g);

// For each of `outputs` results o: c[c_off + o*c_bs + i*c_rs + j] = sum over
// s < splits of partial[o*splits + s, i, j] (+ bias[bias_off + j or i]: mode 0
// none, 1 per column, 2 per row), in split order. partial: [outputs*splits, M, N].
struct SplitReduce {
  uint32_t M = 0, N = 0, splits = 1, c_rs = 0, bias_mode = 0, outputs = 1, c_bs = 0;
  uint32_t c_off = 0, bias_off = 0;
};
void record_split_reduce(Program& p, const SplitReduce& r, const View& partial, const View& bias,
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
