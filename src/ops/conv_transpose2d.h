// conv_transpose2d: PyTorch's ConvTranspose2d (stride, padding,
// output_padding, dilation, groups, optional bias) on NCHW tensors, forward
// and gradients. A transposed convolution is the adjoint of the Conv2d that
// maps its output plane back to its input plane with the same kernel,
// stride, padding and dilation, so it runs on conv2d's kernels
// (conv2d/im2col, conv2d/col2im, conv2d/channel_sum) and the dense family's
// batched GEMM, with the roles of the two planes swapped:
//
//   forward:         dcols[b, g] = W[g]^T · x[b, g];  y = col2im(dcols) (+ bias[o])
//   input gradient:  cols = im2col(dy);  dx[b, g] = W[g] · cols[b, g]
//   weight gradient: dW[g] = sum_b x[b, g] · cols[b, g]^T;  db[o] = sum_{b,p} dy[b, o, p]
//
// with W[g] the [C/groups, (O/groups)·KH·KW] matrix of group g's weights.
// Scatter definition (taps outside the output plane dropped):
//   y[b, g*og + o, h*SH - PH + i*DH, w*SW - PW + j*DW] += x[b, g*cg + c, h, w] * W[g*cg + c, o, i, j]
#pragma once
#include "ops/common.h"

namespace fovea::ops {

struct ConvTranspose2dShape {
  uint32_t batch = 0, in_channels = 0, height = 0, width = 0;
  uint32_t out_channels = 0, kh = 1, kw = 1;
  uint32_t sh = 1, sw = 1, ph = 0, pw = 0;
  uint32_t oph = 0, opw = 0;  // output_padding: extra rows/columns at the bottom/right
  uint32_t dh = 1, dw = 1;
  uint32_t groups = 1;

  // (H - 1)·SH - 2·PH + DH·(KH - 1) + OPH + 1 (0 when that is not positive)
  uint32_t out_h() const;
  uint32_t out_w() const;
  uint64_t in_plane() const { return uint64_t(height) * width; }
  uint64_t out_plane() const { return uint64_t(out_h()) * out_w(); }
  uint64_t taps() const { return uint64_t(kh) * kw; }
  // Floats of x [B, C, H, W], y [B, O, OH, OW] and w [C, O/groups, KH, KW].
  uint64_t x_floats() const { return uint64_t(batch) * in_channels * in_plane(); }
  uint64_t y_floats() const { return uint64_t(batch) * out_channels * out_plane(); }
  uint64_t w_floats() const { return uint64_t(in_channels) * (out_channels / groups) * taps(); }
  // Floats of the one workspace every entry point uses:
  // [B, O·KH·KW, H·W], the column matrix over the input plane.
  uint64_t cols_floats() const { return uint64_t(batch) * out_channels * taps() * in_plane(); }
  // Throws fovea::Error naming `what` and the bad value (PyTorch's rules:
  // output_padding < stride or < dilation per dimension; positive output).
  void validate(const std::string& what) const;
};

// x [B, C, H, W], w [C, O/groups, KH, KW], b [O] (invalid View = no bias)
// -> y [B, O, OH, OW], overwritten. dcols: workspace of cols_floats(), only
// used within this call (it may be the same memory as the backward's cols).
void record_conv_transpose2d_forward(Program& p, const ConvTranspose2dShape& s, const View& x,
                                     const View& w, const View& b, const View& y,
                                     const View& dcols, const std::string& label);

// Both gradients read im2col(dy), computed once per step:
// cols [B, O·KH·KW, H·W] (workspace of cols_floats()) = im2col(dy [B, O, OH, OW]).
void record_conv_transpose2d_backward_cols(Program& p, const ConvTranspose2dShape& s,
                                           const View& dy, const View& cols,
                                           const std::string& label);
// cols (from backward_cols of this dy), w -> dx [B, C, H, W], overwritten.
void record_conv_transpose2d_backward_input(Program& p, const ConvTranspose2dShape& s,
                                            const View& cols, const View& w, const View& dx,
                                            const std::string& label);
// x, cols (from backward_cols) -> dw [C, O/groups, KH, KW]; dy -> db [O]
// when db is valid. Both overwritten. Reductions over B·H·W (weights) and
// B·OH·OW (bias) are split for lavapipe's loop budget, with partial sums in
// the program's scratch memory: per group, B·ceil(H·W / 16384)·(C/groups)·
// (O/groups)·KH·KW floats (none when that product of B and splits is 1), and
// ceil(B·OH·OW / 16384)·O floats for the bias (none when that count is 1).
void record_conv_transpose2d_backward_params(Program& p, const ConvTranspose2dShape& s,
                                             const View& x, const View& cols, const View& dy,
                                             const View& dw, const View& db,
                                             const std::string& label);

}  // namespace fovea::ops
