#include "reference/pool.h"

#include "reference/rng.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fovea::ref {

static uint32_t out_size(uint32_t in, uint32_t k, uint32_t s, uint32_t p, uint32_t d) {
  const int64_t num = int64_t(in) + 2 * int64_t(p) - int64_t(d) * (int64_t(k) - 1) - 1;
  return num < 0 ? 0 : uint32_t(num / s + 1);
}

uint32_t Pool2dShape::out_h() const { return out_size(height, kh, sh, ph, dh); }
uint32_t Pool2dShape::out_w() const { return out_size(width, kw, sw, pw, dw); }

MaxPool2d maxpool2d_forward(const Pool2dShape& s, const Tensor& x) {
  const int64_t H = s.height, W = s.width, OH = s.out_h(), OW = s.out_w();
  const uint64_t planes = uint64_t(s.batch) * s.channels;
  MaxPool2d r{Tensor(planes * OH * OW), std::vector<uint32_t>(planes * OH * OW)};
  for (uint64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        // The window's rows ih = oh*sh - ph + i*dh; start at its first real one.
        int64_t h0 = oh * s.sh - s.ph, w0 = ow * s.sw - s.pw;
        const int64_t h1 = std::min(h0 + (int64_t(s.kh) - 1) * s.dh + 1, H);
        const int64_t w1 = std::min(w0 + (int64_t(s.kw) - 1) * s.dw + 1, W);
        while (h0 < 0) h0 += s.dh;
        while (w0 < 0) w0 += s.dw;
        double best = -std::numeric_limits<double>::infinity();
        int64_t arg = h0 * W + w0;
        for (int64_t ih = h0; ih < h1; ih += s.dh)
          for (int64_t iw = w0; iw < w1; iw += s.dw) {
            const double v = x[p * H * W + ih * W + iw];
            if (v > best || std::isnan(v)) {
              best = v;
              arg = ih * W + iw;
            }
          }
        const uint64_t o = (p * OH + oh) * OW + ow;
        r.y[o] = best;
        r.argmax[o] = uint32_t(arg);
      }
  return r;
}

Tensor maxpool2d_backward(const Pool2dShape& s, const std::vector<uint32_t>& argmax,
                          const Tensor& dy) {
  const uint64_t plane_in = uint64_t(s.height) * s.width;
  const uint64_t plane_out = uint64_t(s.out_h()) * s.out_w();
  const uint64_t planes = uint64_t(s.batch) * s.channels;
  Tensor dx(planes * plane_in, 0.0);
  for (uint64_t p = 0; p < planes; ++p)
    for (uint64_t o = 0; o < plane_out; ++o)
      dx[p * plane_in + argmax[p * plane_out + o]] += dy[p * plane_out + o];
  return dx;
}

// Calls f(p, o, ih, iw, divisor) for every output o = oh*OW + ow of plane p
// and every real input position (ih, iw) of its window, in PyTorch's order.
template <class F>
static void for_each_avg_window(const Pool2dShape& s, bool count_include_pad, F f) {
  const int64_t H = s.height, W = s.width, OH = s.out_h(), OW = s.out_w();
  const uint64_t planes = uint64_t(s.batch) * s.channels;
  for (uint64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t hs = oh * s.sh - s.ph, ws = ow * s.sw - s.pw;
        int64_t he = std::min(hs + s.kh, H + s.ph), we = std::min(ws + s.kw, W + s.pw);
        const int64_t pool = (he - hs) * (we - ws);
        hs = std::max<int64_t>(hs, 0);
        ws = std::max<int64_t>(ws, 0);
        he = std::min(he, H);
        we = std::min(we, W);
        const int64_t divisor = count_include_pad ? pool : (he - hs) * (we - ws);
        for (int64_t ih = hs; ih < he; ++ih)
          for (int64_t iw = ws; iw < we; ++iw) f(p, uint64_t(oh * OW + ow), ih * W + iw, divisor);
      }
}

Tensor avgpool2d_forward(const Pool2dShape& s, bool count_include_pad, const Tensor& x) {
  const uint64_t plane_in = uint64_t(s.height) * s.width;
  const uint64_t plane_out = uint64_t(s.out_h()) * s.out_w();
  Tensor sum(uint64_t(s.batch) * s.channels * plane_out, 0.0), y(sum.size(), 0.0);
  for_each_avg_window(s, count_include_pad, [&](uint64_t p, uint64_t o, int64_t i, int64_t div) {
    sum[p * plane_out + o] += x[p * plane_in + i];
    y[p * plane_out + o] = sum[p * plane_out + o] / double(div);
  });
  return y;
}

Tensor avgpool2d_backward(const Pool2dShape& s, bool count_include_pad, const Tensor& dy) {
  const uint64_t plane_in = uint64_t(s.height) * s.width;
  const uint64_t plane_out = uint64_t(s.out_h()) * s.out_w();
  Tensor dx(uint64_t(s.batch) * s.channels * plane_in, 0.0);
  for_each_avg_window(s, count_include_pad, [&](uint64_t p, uint64_t o, int64_t i, int64_t div) {
    dx[p * plane_in + i] += dy[p * plane_out + o] / double(div);
  });
  return dx;
}

Tensor global_avgpool_forward(uint32_t rows, uint32_t plane, const Tensor& x) {
  Tensor y(rows, 0.0);
  for (uint64_t r = 0; r < rows; ++r) {
    double s = 0.0;
    for (uint64_t i = 0; i < plane; ++i) s += x[r * plane + i];
    y[r] = s / plane;
  }
  return y;
}

Tensor global_avgpool_backward(uint32_t rows, uint32_t plane, const Tensor& dy) {
  Tensor dx(uint64_t(rows) * plane);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t i = 0; i < plane; ++i) dx[r * plane + i] = dy[r] / plane;
  return dx;
}

std::vector<uint8_t> pool_dropout_mask(uint32_t seed, uint32_t stream, uint32_t step, float p,
                                       uint64_t count) {
  std::vector<uint8_t> keep(count);
  for (uint64_t e = 0; e < count; ++e) keep[e] = philox_uniform(seed, stream, step, 0, e) >= double(p);
  return keep;
}

Tensor masked(const Tensor& x, const std::vector<uint8_t>& keep) {
  Tensor y(x.size());
  for (size_t e = 0; e < x.size(); ++e) y[e] = keep[e] ? x[e] : 0.0;
  return y;
}

static Tensor scaled(Tensor t, float p) {
  for (double& v : t) v /= 1.0 - double(p);
  return t;
}

MaxPool2d maxpool_dropout_forward(const Pool2dShape& s, const Tensor& x, const std::vector<uint8_t>& keep) {
  return maxpool2d_forward(s, masked(x, keep));
}

Tensor maxpool_dropout_backward(const Pool2dShape& s, const std::vector<uint32_t>& argmax, const Tensor& dy,
                                const std::vector<uint8_t>& keep) {
  return masked(maxpool2d_backward(s, argmax, dy), keep);
}

Tensor avgpool_dropout_forward(const Pool2dShape& s, bool count_include_pad, float p, const Tensor& x,
                               const std::vector<uint8_t>& keep) {
  return scaled(avgpool2d_forward(s, count_include_pad, masked(x, keep)), p);
}

Tensor avgpool_dropout_backward(const Pool2dShape& s, bool count_include_pad, float p, const Tensor& dy,
                                const std::vector<uint8_t>& keep) {
  return scaled(masked(avgpool2d_backward(s, count_include_pad, dy), keep), p);
}

}  // namespace fovea::ref
