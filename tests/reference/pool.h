// pool reference: PyTorch's CPU max_pool2d (return_indices=True),
// avg_pool2d and global average pooling, forward and backward, with
// ceil_mode=False. The backward passes scatter, as PyTorch does (each output
// adds its gradient into its window, in output order), so they check the GPU
// kernels' gather form independently.
#pragma once
#include <cstdint>

#include "reference/tensor.h"

namespace fovea::ref {

// Tensors are [batch, channels, height, width]; strides are resolved (no
// "0 = kernel" default here).
struct Pool2dShape {
  uint32_t batch = 0, channels = 0, height = 0, width = 0;
  uint32_t kh = 0, kw = 0, sh = 0, sw = 0, ph = 0, pw = 0, dh = 1, dw = 1;
  // floor((H + 2ph - dh*(kh-1) - 1) / sh) + 1, or 0 when that is < 1
  uint32_t out_h() const;
  uint32_t out_w() const;
};

struct MaxPool2d {
  Tensor y;                       // [N, C, OH, OW]
  std::vector<uint32_t> argmax;   // [N, C, OH, OW]: ih * W + iw in the input plane
};

// y = max over the window's real positions (padding never wins). Scan order
// is row-major over (i, j) of the kernel; an element replaces the running
// maximum when it is greater or NaN (PyTorch's `val > maxval || isnan(val)`),
// so the first of tied maxima wins and the last NaN wins. The running maximum
// starts at -inf with the index of the window's first real position, so a
// window of -inf values reports that position.
MaxPool2d maxpool2d_forward(const Pool2dShape& s, const Tensor& x);

// dx: [N, C, H, W], zero, then dx[argmax[o]] += dy[o] for every output o in
// order.
Tensor maxpool2d_backward(const Pool2dShape& s, const std::vector<uint32_t>& argmax,
                          const Tensor& dy);

// y = sum over the window's real positions / divisor (s.dh, s.dw must be 1).
// PyTorch clips the window to the padded extent first and counts it:
//   hs = oh*sh - ph,  he = min(hs + kh, H + ph),  pool = (he - hs) * (we - ws)
// then clips to the input: hs' = max(hs, 0), he' = min(he, H) (likewise w),
// divisor = count_include_pad ? pool : (he' - hs') * (we' - ws').
// With the floor output size he <= H + ph always, so pool = kh * kw: the
// first clip only matters for ceil_mode, which Fovea does not offer.
Tensor avgpool2d_forward(const Pool2dShape& s, bool count_include_pad, const Tensor& x);

// dx: zero, then dx[window of o] += dy[o] / divisor(o) for every output o in
// order.
Tensor avgpool2d_backward(const Pool2dShape& s, bool count_include_pad, const Tensor& dy);

// Pooling dropout (Wu & Gu): keep[e] = 1 when philox_uniform(seed, stream,
// step, 0, e) >= float(p), for the count elements of x.
std::vector<uint8_t> pool_dropout_mask(uint32_t seed, uint32_t stream, uint32_t step, float p,
                                       uint64_t count);
// x where kept, 0 where dropped (a dropped NaN is 0 too).
Tensor masked(const Tensor& x, const std::vector<uint8_t>& keep);

// maxpool2d_forward of masked(x): a dropped tap competes as 0.
MaxPool2d maxpool_dropout_forward(const Pool2dShape& s, const Tensor& x, const std::vector<uint8_t>& keep);
// masked(maxpool2d_backward(argmax, dy))
Tensor maxpool_dropout_backward(const Pool2dShape& s, const std::vector<uint32_t>& argmax, const Tensor& dy,
                                const std::vector<uint8_t>& keep);
// avgpool2d_forward(masked(x)) / (1 - p)
Tensor avgpool_dropout_forward(const Pool2dShape& s, bool count_include_pad, float p, const Tensor& x,
                               const std::vector<uint8_t>& keep);
// masked(avgpool2d_backward(dy)) / (1 - p)
Tensor avgpool_dropout_backward(const Pool2dShape& s, bool count_include_pad, float p, const Tensor& dy,
                                const std::vector<uint8_t>& keep);

// x: [rows, plane] (rows = N * C, plane = H * W) -> y: [rows] = mean over the plane
Tensor global_avgpool_forward(uint32_t rows, uint32_t plane, const Tensor& x);

// dy: [rows] -> dx: [rows, plane] = dy[row] / plane
Tensor global_avgpool_backward(uint32_t rows, uint32_t plane, const Tensor& dy);

}  // namespace fovea::ref
