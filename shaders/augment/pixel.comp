#version 450
// Pixel augmentation and mixing of a batch, src -> dst ([B, C, H, W],
// standardised), rows b < P.rows only (padding rows of dst are left alone).
// Per value, in pixel units p = src / (1/std[c]) + mean[c]:
//   brightness: p *= f,                 f ~ U[max(0, 1-B), 1+B]
//   contrast:   p = f p + (1-f) mean[c], f ~ U[max(0, 1-C), 1+C]
//   either one: p = clamp(p, 0, 1)
//   noise:      p += noise N(0, 1), normal of element b * features + i
//   cutout:     p = 0 inside a SIZE x SIZE square at centre (cx, cy),
//               cx ~ 0..W-1, cy ~ 0..H-1, from cx - SIZE/2 (clipped)
//   erase:      with probability P, p = 0 inside the first of 10 drawn
//               boxes that fits (torchvision RandomErasing: area fraction
//               U[0.02, 0.33], aspect exp U[log 0.3, log 3.3], h =
//               round(sqrt(area aspect)), w = round(sqrt(area / aspect)),
//               h < H and w < W, top-left uniform); none fits: no erase
// then dst = (p - mean[c]) / std[c]. With none of them configured the value
// passes through unchanged.
// Mixing (MIX words after the labels, data::MixDraw): mode 1 (mixup)
// dst_b = lam v_b + (1-lam) v_j, mode 2 (cutmix) dst_b = v_j inside the box
// [y0, y1) x [x0, x1), else v_b; j = (b + shift) mod P.rows, and v_j is
// the partner's value after its own pixel ops (recomputed here: they are a
// function of (row, element) only). Draws per image (augment.glsl):
// brightness, contrast, cutout (cy, cx), erase (purpose 0: apply; purpose
// 1 + t: try t's area, aspect, top, left), made once per image by
// augment/draws.comp and read here from its buffer, which also holds the
// statistics and the mix block; noise per element (stream of AUG_NOISE,
// purposes 0 and 1), drawn here.
#include "common.glsl"
#include "augment/augment.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Src { float src[]; };        // [B, C, H, W]
layout(std430, set = 0, binding = 2) writeonly buffer Dst { float dst[]; };       // [B, C, H, W]
layout(std430, set = 0, binding = 3) readonly buffer Draws { uint draws[]; };    // augment/draws.comp

layout(push_constant) uniform Push {
  uint features, plane, width, height, channels;
  uint header;  // first word of row 0's draws
  float brightness, contrast, noise;
  uint cutout;  // square side, pixels (0 = off)
  float erase;  // probability (0 = off)
  uint mix;     // 1: read the mix block at draws[2 channels]
} pc;

uint word(uint row, uint k) { return draws[pc.header + row * AUGMENT_DRAW_WORDS + k]; }

bool in_cutout(uint row, int x, int y) {
  int s = int(pc.cutout);
  int y0 = int(word(row, AUGMENT_DRAW_CUTOUT_Y)), x0 = int(word(row, AUGMENT_DRAW_CUTOUT_X));
  return y >= y0 && y < y0 + s && x >= x0 && x < x0 + s;
}

// The erase box (h = 0: none this step).
bool in_erase(uint row, int x, int y) {
  int top = int(word(row, AUGMENT_DRAW_ERASE_TOP)), left = int(word(row, AUGMENT_DRAW_ERASE_LEFT));
  int h = int(word(row, AUGMENT_DRAW_ERASE_H)), w = int(word(row, AUGMENT_DRAW_ERASE_W));
  return y >= top && y < top + h && x >= left && x < left + w;
}

float pixel_value(uint row, uint i, uint c, int x, int y) {
  float v = src[row * pc.features + i];
  bool jittered = pc.brightness > 0.0 || pc.contrast > 0.0;
  if (!jittered && !(pc.noise > 0.0) && pc.cutout == 0u && !(pc.erase > 0.0)) return v;
  float mean = uintBitsToFloat(draws[c]), inv_std = uintBitsToFloat(draws[pc.channels + c]);
  float p = v / inv_std + mean;
  if (pc.brightness > 0.0) p *= uintBitsToFloat(word(row, AUGMENT_DRAW_BRIGHTNESS));
  if (pc.contrast > 0.0) {
    float f = uintBitsToFloat(word(row, AUGMENT_DRAW_CONTRAST));
    p = f * p + (1.0 - f) * mean;
  }
  if (jittered) p = clamp(p, 0.0, 1.0);
  if (pc.noise > 0.0)
    p += pc.noise * philox_normal(P.seed, AUG_STREAM + AUG_NOISE, P.step, 0u, (row + P.first_row) * pc.features + i);
  if (pc.cutout > 0u && in_cutout(row, x, y)) p = 0.0;
  if (pc.erase > 0.0 && in_erase(row, x, y)) p = 0.0;
  return (p - mean) * inv_std;
}

void main() {
  uint limit = P.rows * pc.features;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < limit; e += stride) {
    uint b = e / pc.features, i = e - b * pc.features;
    uint c = i / pc.plane, ip = i - c * pc.plane;
    int y = int(ip / pc.width), x = int(ip % pc.width);
    float v = pixel_value(b, i, c, x, y);
    uint m = 2u * pc.channels;  // the mix block
    uint mode = pc.mix != 0u ? draws[m] : 0u;
    if (mode != 0u) {
      uint j = (b + draws[m + 1u]) % P.rows;
      float lam = uintBitsToFloat(draws[m + 2u]);
      if (mode == 1u)
        v = lam * v + (1.0 - lam) * pixel_value(j, i, c, x, y);
      else if (uint(x) >= draws[m + 3u] && uint(y) >= draws[m + 4u] &&
               uint(x) < draws[m + 5u] && uint(y) < draws[m + 6u])
        v = pixel_value(j, i, c, x, y);
    }
    dst[e] = v;
  }
}
