// conv2d: PyTorch's Conv2d (stride, padding, dilation, groups, optional
// bias) on NCHW tensors, forward and both gradients, as im2col + the dense
// family's batched GEMM (texel-buffer kernels where the shape allows).
//
//   forward:         cols = im2col(x);  y[b, g] = W[g] · cols[b, g] (+ bias per row)
//   input gradient:  dcols[b, g] = W[g]^T · dy[b, g];  dx = col2im(dcols), or, where
//                    the device allows, dx gathered straight from dy (implicit GEMM)
//   weight gradient: dW[g] = sum_b dy[b, g] · cols[b, g]^T;  db[o] = sum_{b,p} dy[b, o, p]
#pragma once
#include "ops/common.h"

namespace fovea::ops {

struct Conv2dShape {
  uint32_t batch = 0, in_channels = 0, height = 0, width = 0;
  uint32_t out_channels = 0, kh = 1, kw = 1;
  uint32_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  uint32_t groups = 1;

  // floor((H + 2 PH - DH (KH - 1) - 1) / SH) + 1, or 0 when that is < 1.
  uint32_t out_h() const { return sh ? out_size(height, kh, sh, ph, dh) : 0; }
  uint32_t out_w() const { return sw ? out_size(width, kw, sw, pw, dw) : 0; }
  uint64_t out_plane() const { return uint64_t(out_h()) * out_w(); }
  uint64_t taps() const { return uint64_t(kh) * kw; }
  // Floats of the im2col workspace: [batch, in_channels * KH * KW, OH * OW].
  uint64_t cols_floats() const { return uint64_t(batch) * in_channels * taps() * out_plane(); }
  // Throws fovea::Error naming `what` and the bad value.
  void validate(const std::string& what) const;
  static uint32_t out_size(uint32_t in, uint32_t k, uint32_t s, uint32_t pad, uint32_t d) {
    const int64_t span = int64_t(in) + 2 * int64_t(pad) - int64_t(d) * (int64_t(k) - 1) - 1;
    return span < 0 ? 0 : uint32_t(span / s + 1);
  }
};

// x [B, C, H, W], w [O, C/groups, KH, KW], b [O] (invalid View = no bias)
// -> y [B, O, OH, OW]. cols: workspace of conv2d_cols_bytes(), written here and
// read again by record_conv2d_backward_params (keep it until then). With an
// invalid cols (no weight gradient to follow) y comes from the implicit GEMM,
// which needs conv2d_implicit_gemm(ctx, s, true); else this throws.
void record_conv2d_forward(Program& p, const Conv2dShape& s, const View& x, const View& w,
                           const View& b, const View& y, const View& cols,
                           const std::string& label);
// True when the forward pass (y from x) or the input gradient (dx from dy)
// can run as an implicit GEMM gathered straight from its input
// (shaders/conv2d/implicit_gemm.comp, r32f texel reads): not with portable
// kernels, and only while the input and w fit a texel buffer and the
// reduction (channels per group * KH*KW) stays inside one split
// (KernelPolicy::implicit_gemm).
bool conv2d_implicit_gemm(const gpu::Context& ctx, const Conv2dShape& s, bool forward);
// The implicit GEMM's limits: channel blocks of multiples of this (broadcast
// by shuffles from 8 lanes), workgroups of at most kImplicitMaxLanes, and at
// least kImplicitMinBlock output positions per workgroup.
constexpr uint32_t kImplicitChannels = 8, kImplicitMaxLanes = 64, kImplicitMinBlock = 64;
// True when the im2col columns are stored as fp16 (KernelPolicy::fp16_columns:
// 16-bit storage, fp32 accumulation in the GEMMs that read them). The same
// answer for the forward pass and the weight gradient of one model build.
bool conv2d_fp16_columns(const gpu::Context& ctx, const Conv2dShape& s);
// Bytes of the cols workspace: 2 per value with fp16 columns (rounded up to
// whole 4-byte words), else 4. A
// workspace that doubles as the fp32 dcols needs cols_floats() * 4.
uint64_t conv2d_cols_bytes(const gpu::Context& ctx, const Conv2dShape& s);
// The input-gradient case: then record_conv2d_backward_input needs no dcols.
bool conv2d_direct_input_gradient(const gpu::Context& ctx, const Conv2dShape& s);
// The implicit GEMM's tile variants (all bit-identical) and the key under
// which the tuner caches the choice for a shape (src/gpu/tuner.h).
uint32_t conv2d_implicit_variants();
std::string conv2d_implicit_key(const Conv2dShape& s, bool forward, bool bias);
// dy [B, O, OH, OW], w -> dx [B, C, H, W]; dcols: workspace of cols_floats()
// (an invalid View is fine when conv2d_direct_input_gradient holds and both
// views start at the device's texel-view alignment, as arena views do).
void record_conv2d_backward_input(Program& p, const Conv2dShape& s, const View& dy,
                                  const View& w, const View& dx, const View& dcols,
                                  const std::string& label);
// cols (from the forward pass of this step, fp16 when conv2d_fp16_columns),
// dy -> dw [O, C/groups, KH, KW]
// and, when db is valid, db [O]. Both are overwritten.
void record_conv2d_backward_params(Program& p, const Conv2dShape& s, const View& cols,
                                   const View& dy, const View& dw, const View& db,
                                   const std::string& label);

// Per-channel sums of dy [batch, channels, plane] over batch and plane into
// db [channels] (a bias gradient): chunks of kSplitK positions per workgroup,
// then the partials added in order (one chunk: written straight into db).
void record_channel_sums(Program& p, uint32_t batch, uint32_t channels, uint32_t plane,
                         const View& dy, const View& db, const std::string& label);

}  // namespace fovea::ops
