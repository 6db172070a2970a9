#version 450
// The per-image parameters of one augmentation step, drawn once per image
// (augment.glsl's keys) instead of once per value by the geometry and pixel
// kernels, into draws: u32 words (floats as their bits),
//   [0, C): mean[c]; [C, 2C): 1/std[c] (the decode statistics);
//   [2C, 2C + 8): the step's data::MixDraw block (when MIX; else untouched);
//   row b at header + 20 b (AUGMENT_DRAW_* in augment.glsl):
//     affine: cos theta, sin theta, tan phi, tx, ty (pixels), s;
//     hflip, vflip (1 or 0); crop offset x, y (pixels, -pad..pad);
//     brightness and contrast factors; cutout top-left y0, x0 (ints);
//     erase box top, left, h, w (ints; h = 0: no erase this step).
// Each value is computed by the expression the per-value kernels used, so
// their results are bit for bit those of drawing in place. One lane per
// image row (all `batch` rows; the kernels read rows < P.rows); lane 0 also
// copies the statistics and the mix block. The erase loop runs at most 10
// times.
#include "common.glsl"
#include "augment/augment.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Stats { float mean_std[]; }; // [mean C][1/std C]
layout(std430, set = 0, binding = 2) readonly buffer Labels { uint labels[]; };   // [batch] + MixDraw
layout(std430, set = 0, binding = 3) writeonly buffer Draws { uint draws[]; };

layout(push_constant) uniform Push {
  uint width, height, channels, batch, header;
  float hflip, vflip;
  uint pad, affine;
  float rotate, translate, scale_lo, scale_hi, shear;
  float brightness, contrast;
  uint cutout;
  float erase;
  uint mix;
} pc;

void put(uint i, float v) { draws[i] = floatBitsToUint(v); }

float jitter(uint kind, uint row, float v) {
  float lo = max(0.0, 1.0 - v);
  return lo + aug_uniforms(kind, 0u, row).x * (1.0 + v - lo);
}

void main() {
  uint row = gl_GlobalInvocationID.x;
  if (row == 0u) {
    for (uint c = 0u; c < 2u * pc.channels; ++c) put(c, mean_std[c]);
    if (pc.mix != 0u)
      for (uint k = 0u; k < AUGMENT_MIX_WORDS; ++k) draws[2u * pc.channels + k] = labels[pc.batch + k];
  }
  if (row >= pc.batch) return;
  uint d = pc.header + row * AUGMENT_DRAW_WORDS;
  vec2 size = vec2(pc.width, pc.height);
  if (pc.affine != 0u) {
    vec4 u = aug_uniforms(AUG_AFFINE, 0u, row);
    float theta = radians((2.0 * u.x - 1.0) * pc.rotate);
    vec2 t = (2.0 * u.yz - 1.0) * pc.translate * size;
    float s = pc.scale_lo + u.w * (pc.scale_hi - pc.scale_lo);
    // fv_cos_sin, not the built-ins: the same pixels on every implementation
    // (portable_math.glsl).
    const vec2 shear = fv_cos_sin(radians((2.0 * aug_uniforms(AUG_AFFINE, 1u, row).x - 1.0) * pc.shear));
    float k = shear.y / shear.x;
    const vec2 cs = fv_cos_sin(theta);
    put(d + AUGMENT_DRAW_COS, cs.x);
    put(d + AUGMENT_DRAW_SIN, cs.y);
    put(d + AUGMENT_DRAW_SHEAR, k);
    put(d + AUGMENT_DRAW_TX, t.x);
    put(d + AUGMENT_DRAW_TY, t.y);
    put(d + AUGMENT_DRAW_SCALE, s);
  }
  draws[d + AUGMENT_DRAW_HFLIP] = pc.hflip > 0.0 && aug_uniforms(AUG_HFLIP, 0u, row).x < pc.hflip ? 1u : 0u;
  draws[d + AUGMENT_DRAW_VFLIP] = pc.vflip > 0.0 && aug_uniforms(AUG_VFLIP, 0u, row).x < pc.vflip ? 1u : 0u;
  vec2 crop = vec2(0.0);
  if (pc.pad > 0u) {
    vec2 u = aug_uniforms(AUG_CROP, 0u, row).xy;
    int n = 2 * int(pc.pad) + 1;
    crop = vec2(aug_below(u.x, n), aug_below(u.y, n)) - float(pc.pad);
  }
  put(d + AUGMENT_DRAW_CROP_X, crop.x);
  put(d + AUGMENT_DRAW_CROP_Y, crop.y);
  put(d + AUGMENT_DRAW_BRIGHTNESS, pc.brightness > 0.0 ? jitter(AUG_BRIGHTNESS, row, pc.brightness) : 1.0);
  put(d + AUGMENT_DRAW_CONTRAST, pc.contrast > 0.0 ? jitter(AUG_CONTRAST, row, pc.contrast) : 1.0);
  int y0 = 0, x0 = 0;
  if (pc.cutout > 0u) {
    vec4 u = aug_uniforms(AUG_CUTOUT, 0u, row);
    int s = int(pc.cutout);
    y0 = aug_below(u.x, int(pc.height)) - s / 2;
    x0 = aug_below(u.y, int(pc.width)) - s / 2;
  }
  draws[d + AUGMENT_DRAW_CUTOUT_Y] = uint(y0);
  draws[d + AUGMENT_DRAW_CUTOUT_X] = uint(x0);
  // Erase: with probability P, the first of 10 drawn boxes that fits.
  int top = 0, left = 0, h = 0, w = 0;
  if (pc.erase > 0.0 && aug_uniforms(AUG_ERASE, 0u, row).x < pc.erase) {
    int H = int(pc.height), W = int(pc.width);
    float area = float(H * W);
    for (uint t = 0u; t < AUG_ERASE_TRIES; ++t) {
      vec4 u = aug_uniforms(AUG_ERASE, 1u + t, row);
      float target = area * (0.02 + u.x * (0.33 - 0.02));
      float aspect = exp(log(0.3) + u.y * (log(3.3) - log(0.3)));
      int bh = int(floor(sqrt(target * aspect) + 0.5)), bw = int(floor(sqrt(target / aspect) + 0.5));
      if (bh < H && bw < W) {
        top = aug_below(u.z, H - bh + 1);
        left = aug_below(u.w, W - bw + 1);
        h = bh;
        w = bw;
        break;
      }
    }
  }
  draws[d + AUGMENT_DRAW_ERASE_TOP] = uint(top);
  draws[d + AUGMENT_DRAW_ERASE_LEFT] = uint(left);
  draws[d + AUGMENT_DRAW_ERASE_H] = uint(h);
  draws[d + AUGMENT_DRAW_ERASE_W] = uint(w);
}
