#include "reference/conv_transpose2d.h"

namespace fovea::ref {

namespace {
// Visits every (b, c, h, w, o, i, j) term of the scatter with the flat
// indices of y, x and w; taps landing outside the output plane are skipped.
template <class F>
void for_each_term(const ConvTranspose2dShape& s, F&& f) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  const uint32_t cg = s.in_channels / s.groups, og = s.out_channels / s.groups;
  for (uint32_t b = 0; b < s.batch; ++b)
    for (uint32_t c = 0; c < s.in_channels; ++c) {
      const uint32_t g = c / cg;
      for (uint32_t h = 0; h < s.height; ++h)
        for (uint32_t w = 0; w < s.width; ++w) {
          const size_t xi = ((size_t(b) * s.in_channels + c) * s.height + h) * s.width + w;
          for (uint32_t o = 0; o < og; ++o)
            for (uint32_t i = 0; i < s.kh; ++i)
              for (uint32_t j = 0; j < s.kw; ++j) {
                const int64_t oh = int64_t(h) * s.sh - s.ph + int64_t(i) * s.dh;
                const int64_t ow = int64_t(w) * s.sw - s.pw + int64_t(j) * s.dw;
                if (oh < 0 || ow < 0 || oh >= OH || ow >= OW) continue;
                const size_t yi =
                    ((size_t(b) * s.out_channels + g * og + o) * OH + size_t(oh)) * OW + size_t(ow);
                const size_t wi = ((size_t(c) * og + o) * s.kh + i) * s.kw + j;
                f(yi, xi, wi);
              }
        }
    }
}
}  // namespace

Tensor conv_transpose2d_forward(const ConvTranspose2dShape& s, const Tensor& x, const Tensor& w,
                                const Tensor& b) {
  const size_t plane = s.out_plane();
  Tensor y(size_t(s.batch) * s.out_channels * plane, 0.0);
  if (!b.empty())
    for (size_t e = 0; e < y.size(); ++e) y[e] = b[(e / plane) % s.out_channels];
  for_each_term(s, [&](size_t yi, size_t xi, size_t wi) { y[yi] += x[xi] * w[wi]; });
  return y;
}

ConvTranspose2dGrads conv_transpose2d_backward(const ConvTranspose2dShape& s, const Tensor& x,
                                               const Tensor& w, const Tensor& dy) {
  const size_t plane = s.out_plane();
  ConvTranspose2dGrads g{Tensor(x.size(), 0.0), Tensor(w.size(), 0.0), Tensor(s.out_channels, 0.0)};
  for_each_term(s, [&](size_t yi, size_t xi, size_t wi) {
    g.dx[xi] += w[wi] * dy[yi];  // dy/dx = w
    g.dw[wi] += x[xi] * dy[yi];  // dy/dw = x
  });
  for (size_t e = 0; e < dy.size(); ++e) g.db[(e / plane) % s.out_channels] += dy[e];
  return g;
}

}  // namespace fovea::ref
