#include "reference/corrupt.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "data/corrupt.h"

namespace fovea::ref {

namespace {

uint8_t to_byte(double v) {
  const double r = std::round(v);  // halves away from zero; the values are never negative halves here
  return uint8_t(r < 0 ? 0 : r > 255 ? 255 : r);
}

// The luminance quantisation table of the JPEG standard (ITU T.81, Annex K,
// table K.1), rows of horizontal frequencies.
constexpr int kLuma[64] = {16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
                           14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
                           18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
                           49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};

double basis(int freq, int pos) {
  const double c = freq == 0 ? std::sqrt(0.5) : 1.0;
  return 0.5 * c * std::cos((2 * pos + 1) * freq * M_PI / 16);
}

}  // namespace

Image contrast(const Image& in, double factor) {
  Image out = in;
  const double n = double(in.height) * in.width;
  for (uint32_t c = 0; c < in.channels; ++c) {
    double sum = 0;
    for (uint32_t y = 0; y < in.height; ++y)
      for (uint32_t x = 0; x < in.width; ++x) sum += in.at(c, y, x);
    const double mean = sum / n;
    for (uint32_t y = 0; y < in.height; ++y)
      for (uint32_t x = 0; x < in.width; ++x)
        out.px[(size_t(c) * in.height + y) * in.width + x] = to_byte(mean + factor * (in.at(c, y, x) - mean));
  }
  return out;
}

Image brightness(const Image& in, double shift) {
  Image out = in;
  for (auto& v : out.px) v = to_byte(v + shift * 255);
  return out;
}

Image salt_pepper(const Image& in, double fraction, uint32_t seed, uint32_t image) {
  Image out = in;
  for (uint32_t y = 0; y < in.height; ++y)
    for (uint32_t x = 0; x < in.width; ++x) {
      const uint64_t pixel = uint64_t(y) * in.width + x;
      const double u = std::ldexp(double(data::corruption_bits(seed, image, pixel) >> 11), -53);
      if (u < fraction / 2)
        for (uint32_t c = 0; c < in.channels; ++c) out.px[c * in.height * in.width + pixel] = 0;
      else if (u < fraction)
        for (uint32_t c = 0; c < in.channels; ++c) out.px[c * in.height * in.width + pixel] = 255;
    }
  return out;
}

Image translate(const Image& in, uint32_t shift, uint32_t seed, uint32_t image) {
  const uint64_t bits = data::corruption_bits(seed, image, 0);
  const int64_t dx = bits & 1 ? shift : -int64_t(shift);
  const int64_t dy = bits & 2 ? shift : -int64_t(shift);
  Image out = in;
  for (uint32_t c = 0; c < in.channels; ++c)
    for (int64_t y = 0; y < in.height; ++y)
      for (int64_t x = 0; x < in.width; ++x) {
        const int64_t fy = y - dy, fx = x - dx;
        const bool in_image = fy >= 0 && fx >= 0 && fy < int64_t(in.height) && fx < int64_t(in.width);
        out.px[(size_t(c) * in.height + size_t(y)) * in.width + size_t(x)] = in_image ? in.at(c, fy, fx) : 0;
      }
  return out;
}

Image jpeg_grey(const Image& in, int quality) {
  if (in.channels != 1) throw std::runtime_error("jpeg_grey: one channel only");
  const int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  double q[64];
  for (int i = 0; i < 64; ++i) q[i] = std::clamp((kLuma[i] * scale + 50) / 100, 1, 255);
  Image out = in;
  const int64_t H = in.height, W = in.width;
  for (int64_t by = 0; by < H; by += 8)
    for (int64_t bx = 0; bx < W; bx += 8) {
      double f[8][8], coef[8][8];
      for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) f[y][x] = in.at(0, std::min(by + y, H - 1), std::min(bx + x, W - 1)) - 128.0;
      for (int v = 0; v < 8; ++v)
        for (int u = 0; u < 8; ++u) {
          double s = 0;
          for (int y = 0; y < 8; ++y)
            for (int x = 0; x < 8; ++x) s += f[y][x] * basis(v, y) * basis(u, x);
          coef[v][u] = std::round(s / q[v * 8 + u]) * q[v * 8 + u];
        }
      for (int y = 0; y < 8 && by + y < H; ++y)
        for (int x = 0; x < 8 && bx + x < W; ++x) {
          double s = 0;
          for (int v = 0; v < 8; ++v)
            for (int u = 0; u < 8; ++u) s += coef[v][u] * basis(v, y) * basis(u, x);
          out.px[size_t(by + y) * in.width + size_t(bx + x)] = to_byte(s + 128);
        }
    }
  return out;
}

}  // namespace fovea::ref
