#include "reference/augment.h"

#include <algorithm>
#include <cmath>

#include "reference/rng.h"

namespace fovea::ref {
namespace {

using data::AugmentKind;

double u(uint32_t seed, uint32_t step, AugmentKind kind, uint32_t purpose, uint32_t row, uint32_t word) {
  return philox_uniform(seed, data::kAugmentStream + uint32_t(kind), step, purpose, 4ull * row + word);
}

int below(double v, int n) { return std::min(int(std::floor(v * n)), n - 1); }

double jitter(double v, double draw) {
  const double lo = std::max(0.0, 1.0 - v);
  return lo + draw * (1.0 + v - lo);
}

}  // namespace

ImageDraw image_draw(const data::AugmentConfig& cfg, uint32_t seed, uint32_t step, uint32_t row,
                     uint32_t height, uint32_t width) {
  ImageDraw d;
  const int H = int(height), W = int(width);
  if (cfg.affine()) {
    d.theta_deg = (2 * u(seed, step, AugmentKind::Affine, 0, row, 0) - 1) * cfg.rotate_deg;
    d.tx = (2 * u(seed, step, AugmentKind::Affine, 0, row, 1) - 1) * cfg.translate * W;
    d.ty = (2 * u(seed, step, AugmentKind::Affine, 0, row, 2) - 1) * cfg.translate * H;
    d.scale = cfg.scale_lo + u(seed, step, AugmentKind::Affine, 0, row, 3) * (cfg.scale_hi - cfg.scale_lo);
    d.shear_deg = (2 * u(seed, step, AugmentKind::Affine, 1, row, 0) - 1) * cfg.shear_deg;
  }
  d.hflip = cfg.hflip > 0 && u(seed, step, AugmentKind::HFlip, 0, row, 0) < cfg.hflip;
  d.vflip = cfg.vflip > 0 && u(seed, step, AugmentKind::VFlip, 0, row, 0) < cfg.vflip;
  if (cfg.crop_pad > 0) {
    const int pad = int(cfg.crop_pad);
    d.crop_dx = below(u(seed, step, AugmentKind::Crop, 0, row, 0), 2 * pad + 1) - pad;
    d.crop_dy = below(u(seed, step, AugmentKind::Crop, 0, row, 1), 2 * pad + 1) - pad;
  }
  if (cfg.brightness > 0) d.brightness = jitter(cfg.brightness, u(seed, step, AugmentKind::Brightness, 0, row, 0));
  if (cfg.contrast > 0) d.contrast = jitter(cfg.contrast, u(seed, step, AugmentKind::Contrast, 0, row, 0));
  if (cfg.cutout > 0) {
    const int s = int(cfg.cutout);
    d.cutout_y0 = below(u(seed, step, AugmentKind::Cutout, 0, row, 0), H) - s / 2;
    d.cutout_x0 = below(u(seed, step, AugmentKind::Cutout, 0, row, 1), W) - s / 2;
  }
  if (cfg.erase > 0 && u(seed, step, AugmentKind::Erase, 0, row, 0) < cfg.erase) {
    const double area = double(H) * W;
    for (uint32_t t = 0; t < data::kEraseTries; ++t) {
      const double target = area * (0.02 + u(seed, step, AugmentKind::Erase, 1 + t, row, 0) * (0.33 - 0.02));
      const double aspect = std::exp(std::log(0.3) + u(seed, step, AugmentKind::Erase, 1 + t, row, 1) *
                                                         (std::log(3.3) - std::log(0.3)));
      const int h = int(std::floor(std::sqrt(target * aspect) + 0.5));
      const int w = int(std::floor(std::sqrt(target / aspect) + 0.5));
      if (h < H && w < W) {
        d.erase = true;
        d.erase_h = h;
        d.erase_w = w;
        d.erase_top = below(u(seed, step, AugmentKind::Erase, 1 + t, row, 2), H - h + 1);
        d.erase_left = below(u(seed, step, AugmentKind::Erase, 1 + t, row, 3), W - w + 1);
        break;
      }
    }
  }
  return d;
}

namespace {

// The source point of output pixel (x, y): affine inverse, flips, crop.
void source_point(const ImageDraw& d, int H, int W, double& qx, double& qy) {
  const double cx = (W - 1) / 2.0, cy = (H - 1) / 2.0;
  double dx = qx - cx - d.tx, dy = qy - cy - d.ty;
  const double th = d.theta_deg * M_PI / 180, k = std::tan(d.shear_deg * M_PI / 180);
  const double rx = std::cos(th) * dx + std::sin(th) * dy, ry = std::cos(th) * dy - std::sin(th) * dx;
  qx = cx + (rx - k * ry) / d.scale;
  qy = cy + ry / d.scale;
  if (d.hflip) qx = W - 1 - qx;
  if (d.vflip) qy = H - 1 - qy;
  qx += d.crop_dx;
  qy += d.crop_dy;
}

}  // namespace

Tensor augment(const data::AugmentConfig& cfg, const Tensor& x, uint32_t batch, uint32_t channels,
               uint32_t height, uint32_t width, uint32_t rows, uint32_t seed, uint32_t step,
               const Tensor& mean, const Tensor& stddev, const data::MixDraw& mix) {
  const int H = int(height), W = int(width);
  const uint64_t plane = uint64_t(H) * W, D = channels * plane;
  // 1. Geometry (bilinear, black outside).
  Tensor g = x;
  for (uint32_t b = 0; b < rows && b < batch; ++b) {
    const ImageDraw d = image_draw(cfg, seed, step, b, height, width);
    for (uint32_t c = 0; c < channels; ++c) {
      const double fill = -mean[c] / stddev[c];
      const double* src = &x[b * D + c * plane];
      auto tap = [&](int xx, int yy) { return xx >= 0 && yy >= 0 && xx < W && yy < H ? src[yy * W + xx] : fill; };
      for (int y = 0; y < H; ++y)
        for (int xo = 0; xo < W; ++xo) {
          double qx = xo, qy = y;
          source_point(d, H, W, qx, qy);
          const double fx = std::floor(qx), fy = std::floor(qy), wx = qx - fx, wy = qy - fy;
          const int x0 = int(fx), y0 = int(fy);
          const double top = tap(x0, y0) * (1 - wx) + tap(x0 + 1, y0) * wx;
          const double bottom = tap(x0, y0 + 1) * (1 - wx) + tap(x0 + 1, y0 + 1) * wx;
          g[b * D + c * plane + uint64_t(y) * W + xo] = top * (1 - wy) + bottom * wy;
        }
    }
  }
  // 2. Pixel ops, in pixel units.
  auto pixel = [&](uint32_t b, uint64_t i) {
    const uint32_t c = uint32_t(i / plane);
    const int y = int(i % plane) / W, xx = int(i % plane) % W;
    const ImageDraw d = image_draw(cfg, seed, step, b, height, width);
    double p = g[b * D + i] * stddev[c] + mean[c];
    p *= d.brightness;
    p = d.contrast * p + (1 - d.contrast) * mean[c];
    if (cfg.brightness > 0 || cfg.contrast > 0) p = std::clamp(p, 0.0, 1.0);
    if (cfg.noise_std > 0)
      p += cfg.noise_std * philox_normal(seed, data::kAugmentStream + uint32_t(AugmentKind::Noise), step, 0,
                                         b * D + i);
    const int s = int(cfg.cutout);
    if (s > 0 && y >= d.cutout_y0 && y < d.cutout_y0 + s && xx >= d.cutout_x0 && xx < d.cutout_x0 + s) p = 0;
    if (d.erase && y >= d.erase_top && y < d.erase_top + d.erase_h && xx >= d.erase_left &&
        xx < d.erase_left + d.erase_w)
      p = 0;
    return (p - mean[c]) / stddev[c];
  };
  // 3. Mixing with partner j = (b + shift) mod rows.
  Tensor out = x;
  for (uint32_t b = 0; b < rows && b < batch; ++b)
    for (uint64_t i = 0; i < D; ++i) {
      double v = pixel(b, i);
      if (mix.mode != 0) {
        const uint32_t j = (b + mix.shift) % rows;
        const uint32_t y = uint32_t(i % plane) / width, xx = uint32_t(i % plane) % width;
        if (mix.mode == 1)
          v = mix.lam * v + (1 - double(mix.lam)) * pixel(j, i);
        else if (xx >= mix.x0 && xx < mix.x1 && y >= mix.y0 && y < mix.y1)
          v = pixel(j, i);
      }
      out[b * D + i] = v;
    }
  return out;
}

}  // namespace fovea::ref
