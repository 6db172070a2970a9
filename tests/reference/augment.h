// augment reference: the per-image parameters of shaders/augment drawn from
// ref::philox_uniform with the same keys (stream 0x41000000 + kind, purpose,
// element 4 row + word), and the geometric map, pixel ops and mixing
// applied in double.
#pragma once
#include "data/augment.h"
#include "reference/tensor.h"

namespace fovea::ref {

// What one image of one step gets (unused parts keep their identity).
struct ImageDraw {
  bool hflip = false, vflip = false;
  int crop_dx = 0, crop_dy = 0;  // source offset of the crop, -pad..pad
  double theta_deg = 0, tx = 0, ty = 0, scale = 1, shear_deg = 0;  // tx, ty in pixels
  double brightness = 1, contrast = 1;
  int cutout_x0 = 0, cutout_y0 = 0;  // top-left of the SIZE x SIZE square (may be < 0)
  bool erase = false;
  int erase_top = 0, erase_left = 0, erase_h = 0, erase_w = 0;
};

ImageDraw image_draw(const data::AugmentConfig& cfg, uint32_t seed, uint32_t step, uint32_t row,
                     uint32_t height, uint32_t width);

// x: [batch, C, H, W] standardised with mean[c], stddev[c]; rows < `rows`
// augmented as the training step `step` of a run with `seed` does (mix:
// the step's mixing block), padding rows returned unchanged.
Tensor augment(const data::AugmentConfig& cfg, const Tensor& x, uint32_t batch, uint32_t channels,
               uint32_t height, uint32_t width, uint32_t rows, uint32_t seed, uint32_t step,
               const Tensor& mean, const Tensor& stddev, const data::MixDraw& mix);

}  // namespace fovea::ref
