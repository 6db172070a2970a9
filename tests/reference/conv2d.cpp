#include "reference/conv2d.h"

namespace fovea::ref {

namespace {
// Visits every (b, o, oh, ow, c, i, j) product term of the convolution with
// the flat indices of y, x and w; taps in the padding are skipped.
template <class F>
void for_each_term(const Conv2dShape& s, F&& f) {
  const uint32_t OH = s.out_h(), OW = s.out_w();
  const uint32_t cg = s.in_channels / s.groups, og = s.out_channels / s.groups;
  for (uint32_t b = 0; b < s.batch; ++b)
    for (uint32_t o = 0; o < s.out_channels; ++o)
      for (uint32_t oh = 0; oh < OH; ++oh)
        for (uint32_t ow = 0; ow < OW; ++ow) {
          const size_t yi = ((size_t(b) * s.out_channels + o) * OH + oh) * OW + ow;
          const uint32_t g = o / og;
          for (uint32_t c = 0; c < cg; ++c)
            for (uint32_t i = 0; i < s.kh; ++i)
              for (uint32_t j = 0; j < s.kw; ++j) {
                const int64_t h = int64_t(oh) * s.sh - s.ph + int64_t(i) * s.dh;
                const int64_t w = int64_t(ow) * s.sw - s.pw + int64_t(j) * s.dw;
                if (h < 0 || w < 0 || h >= s.height || w >= s.width) continue;
                const size_t xi =
                    ((size_t(b) * s.in_channels + g * cg + c) * s.height + size_t(h)) * s.width + size_t(w);
                const size_t wi = ((size_t(o) * cg + c) * s.kh + i) * s.kw + j;
                f(yi, xi, wi);
              }
        }
}
}  // namespace

Tensor conv2d_forward(const Conv2dShape& s, const Tensor& x, const Tensor& w, const Tensor& b) {
  const size_t plane = size_t(s.out_h()) * s.out_w();
  Tensor y(size_t(s.batch) * s.out_channels * plane, 0.0);
  if (!b.empty())
    for (size_t e = 0; e < y.size(); ++e) y[e] = b[(e / plane) % s.out_channels];
  for_each_term(s, [&](size_t yi, size_t xi, size_t wi) { y[yi] += w[wi] * x[xi]; });
  return y;
}

Conv2dGrads conv2d_backward(const Conv2dShape& s, const Tensor& x, const Tensor& w,
                            const Tensor& dy) {
  const size_t plane = size_t(s.out_h()) * s.out_w();
  Conv2dGrads g{Tensor(x.size(), 0.0), Tensor(w.size(), 0.0), Tensor(s.out_channels, 0.0)};
  for_each_term(s, [&](size_t yi, size_t xi, size_t wi) {
    g.dx[xi] += w[wi] * dy[yi];  // dy/dx = w
    g.dw[wi] += x[xi] * dy[yi];  // dy/dw = x
  });
  for (size_t e = 0; e < dy.size(); ++e) g.db[(e / plane) % s.out_channels] += dy[e];
  return g;
}

Tensor conv2d_im2col(const Conv2dShape& s, const Tensor& x) {
  const size_t plane = s.out_plane(), kk = s.taps(), cg = s.in_channels / s.groups;
  const size_t og = s.out_channels / s.groups;
  Tensor cols(s.cols_floats(), 0.0);
  // Every term of output channel o reads tap (g*cg + c, i, j) of group g =
  // o / og; its position in w's filter of o is that tap's offset in the group.
  for_each_term(s, [&](size_t yi, size_t xi, size_t wi) {
    const size_t b = yi / (s.out_channels * plane), o = (yi / plane) % s.out_channels, p = yi % plane;
    const size_t ck = (o / og) * cg * kk + (wi - o * cg * kk);
    cols[(b * s.in_channels * kk + ck) * plane + p] = x[xi];
  });
  return cols;
}

Tensor conv2d_forward_from_cols(const Conv2dShape& s, const Tensor& cols, const Tensor& w, const Tensor& b) {
  const size_t plane = s.out_plane(), gk = s.in_channels / s.groups * s.taps();
  const size_t og = s.out_channels / s.groups, ckk = s.in_channels * s.taps();
  Tensor y(size_t(s.batch) * s.out_channels * plane, 0.0);
  for (size_t n = 0; n < s.batch; ++n)
    for (size_t o = 0; o < s.out_channels; ++o)
      for (size_t p = 0; p < plane; ++p) {
        double acc = b.empty() ? 0.0 : b[o];
        for (size_t k = 0; k < gk; ++k) acc += w[o * gk + k] * cols[(n * ckk + (o / og) * gk + k) * plane + p];
        y[(n * s.out_channels + o) * plane + p] = acc;
      }
  return y;
}

Tensor conv2d_weight_grad_from_cols(const Conv2dShape& s, const Tensor& cols, const Tensor& dy) {
  const size_t plane = s.out_plane(), gk = s.in_channels / s.groups * s.taps();
  const size_t og = s.out_channels / s.groups, ckk = s.in_channels * s.taps();
  Tensor dw(size_t(s.out_channels) * gk, 0.0);
  for (size_t n = 0; n < s.batch; ++n)
    for (size_t o = 0; o < s.out_channels; ++o)
      for (size_t k = 0; k < gk; ++k)
        for (size_t p = 0; p < plane; ++p)
          dw[o * gk + k] += dy[(n * s.out_channels + o) * plane + p] * cols[(n * ckk + (o / og) * gk + k) * plane + p];
  return dw;
}

}  // namespace fovea::ref
