// pool: max, average and global average pooling on NCHW float tensors,
// forward and backward, with PyTorch's CPU semantics and ceil_mode=False.
// Pooling works plane by plane, so padding rows of a partial batch (finite
// values, see docs/architecture.md) stay finite and deterministic.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

// Geometry of a 2-d pooling window over x: [batch, channels, height, width].
struct Pool2dShape {
  uint32_t batch = 0, channels = 0, height = 0, width = 0;
  uint32_t kh = 0, kw = 0;  // window (kernel) size
  uint32_t sh = 0, sw = 0;  // stride; 0 means the kernel size (PyTorch's stride=None)
  uint32_t ph = 0, pw = 0;  // padding on each side, at most half the kernel
  uint32_t dh = 1, dw = 1;  // dilation (max pooling only)

  uint32_t stride_h() const { return sh ? sh : kh; }
  uint32_t stride_w() const { return sw ? sw : kw; }
  // OH = floor((H + 2ph - dh*(kh-1) - 1) / sh) + 1, or 0 when that is < 1
  // (record_* then throws).
  uint32_t out_h() const;
  uint32_t out_w() const;
};

// Max pooling. x: [N, C, H, W] -> y: [N, C, OH, OW] and argmax (u32, same
// shape): the flat index ih * W + iw of the winner inside its input plane,
// as PyTorch's return_indices. Padded positions never win (PyTorch pads with
// -inf). Window positions are scanned row-major over (i, j) of the kernel and
// a value replaces the running maximum when it is greater or NaN, so ties
// keep the FIRST maximum, a NaN beats every number and the last NaN wins; a
// window whose real values are all -inf reports its first real position.
// Throws fovea::Error (naming `label`) for an empty output, padding over half
// the kernel, a dilated window that covers only padding (PyTorch would
// return -inf there with an index outside the window), a window too large
// for lavapipe's loop budget (over about 60x60), 2^31 elements or more, or
// views too small.
void record_maxpool2d_forward(Program& p, const Pool2dShape& s, const View& x, const View& y,
                              const View& argmax, const std::string& label);
// dx[n, c, h, w] = sum of dy[n, c, oh, ow] over every window whose argmax is
// h * W + w (overlapping windows may send several), added in increasing
// (oh, ow) order like PyTorch's scatter; computed as a gather, and every
// element of dx is written (0 where no window chose it).
void record_maxpool2d_backward(Program& p, const Pool2dShape& s, const View& argmax,
                               const View& dy, const View& dx, const std::string& label);
// Max pooling with a fixed argmax (from an earlier forward): y[n, c, oh, ow]
// = x[n, c, argmax / W, argmax % W]. Linear in x; record_maxpool2d_backward
// with the same argmax is its adjoint. The sharpness probe freezes the
// winners this way (src/nn/layers.h).
void record_maxpool2d_gather(Program& p, const Pool2dShape& s, const View& x, const View& argmax,
                             const View& y, const std::string& label);

// Average pooling (s.dh = s.dw = 1). y = sum over the window's real
// positions / divisor, with PyTorch's divisor: count_include_pad (its
// default) divides by the window clipped to the padded input, which with the
// floor output size is always kh * kw; otherwise by the real positions only.
void record_avgpool2d_forward(Program& p, const Pool2dShape& s, bool count_include_pad,
                              const View& x, const View& y, const std::string& label);
// dx[n, c, h, w] = sum over the windows (oh, ow) containing (h, w) of
// dy[n, c, oh, ow] / divisor(oh, ow), in increasing (oh, ow) order; gather.
void record_avgpool2d_backward(Program& p, const Pool2dShape& s, bool count_include_pad,
                               const View& dy, const View& dx, const std::string& label);

// Pooling dropout (Wu & Gu, "Towards dropout training for convolutional
// neural networks"), for the training forward and backward: input element e
// (flat index in x: [N, C, H, W]) is kept when philox_uniform(P.seed,
// stream, P.step, purpose 0, e) >= p and is otherwise 0 before pooling;
// the backward regenerates the mask from the same key (P.step must equal
// the forward's). Throws fovea::Error for p outside [0, 1), and as the
// plain pooling ops.
struct PoolDropout {
  float p = 0;          // probability of dropping an input element
  uint32_t stream = 0;  // the layer's Philox stream (its node index)
};
// y = maxpool2d(x ⊙ mask) with maxpool2d's argmax, ties and NaN rules; a
// dropped tap competes as 0 (it can win a window of negative values). No
// scaling: the expectation over masks of a window's output is Wu & Gu's
// probabilistic weighted pooling, sum_j (1-p) p^(j-1) x_(j) over the window's
// values in decreasing order (when all are >= 0), not the plain maximum.
void record_maxpool_dropout_forward(Program& p, const Pool2dShape& s, const PoolDropout& drop,
                                    const View& x, const View& y, const View& argmax,
                                    const std::string& label);
// dx = mask ⊙ maxpool2d_backward(argmax, dy): a dropped winner passes nothing.
void record_maxpool_dropout_backward(Program& p, const Pool2dShape& s, const PoolDropout& drop,
                                     const View& argmax, const View& dy, const View& dx,
                                     const std::string& label);
// y = avgpool2d(x ⊙ mask) / (1 - p) (inverted dropout inside the window, so
// E[y] is the plain average pool); s.dh = s.dw = 1.
void record_avgpool_dropout_forward(Program& p, const Pool2dShape& s, bool count_include_pad,
                                    const PoolDropout& drop, const View& x, const View& y,
                                    const std::string& label);
// dx = mask ⊙ avgpool2d_backward(dy) / (1 - p)
void record_avgpool_dropout_backward(Program& p, const Pool2dShape& s, bool count_include_pad,
                                     const PoolDropout& drop, const View& dy, const View& dx,
                                     const std::string& label);

// Global average pooling. x: [batch, channels, plane] (plane = H * W) ->
// y: [batch, channels] = mean over the plane. Planes longer than one chunk
// (4096 values) are summed per chunk into the program's scratch and the
// chunks added in order by a second dispatch (lavapipe's loop budget).
void record_global_avgpool_forward(Program& p, uint32_t batch, uint32_t channels, uint32_t plane,
                                   const View& x, const View& y, const std::string& label);
// dx[n, c, i] = dy[n, c] / plane
void record_global_avgpool_backward(Program& p, uint32_t batch, uint32_t channels,
                                    uint32_t plane, const View& dy, const View& dx,
                                    const std::string& label);

}  // namespace fovea::ops
