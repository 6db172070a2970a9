#version 450
// Geometric augmentation of a batch x: [B, C, H, W] (standardised), src ->
// dst, rows b < P.rows only (padding rows of dst are left alone). Every
// image gets ONE inverse map, composed of (in the order the image goes
// through them) crop, flips, affine; dst samples src there bilinearly:
//   p = (x, y), pixel indices; ctr = ((W-1)/2, (H-1)/2)
//   affine:  q = ctr + (1/s) Sh^-1 R(-theta) (p - ctr - t), i.e. the image
//            is mapped forward by ctr + t + R(theta) Sh s (src - ctr) with
//            theta ~ U[-rotate, rotate], t ~ U[-translate, translate] (W, H),
//            s ~ U[scale_lo, scale_hi], Sh = [1 tan(phi); 0 1],
//            phi ~ U[-shear, shear] (degrees)
//   flips:   q.x = W-1 - q.x with probability hflip; q.y likewise (vflip)
//   crop:    q += (ox, oy) - pad, ox, oy uniform in 0..2 pad
// Outside the image the value is black: pixel 0, standardised -mean/std
// (the decode statistics). Without the affine part q is a whole pixel and
// dst is an exact copy of that pixel. Draws per image (augment.glsl):
// affine (purpose 0: theta, tx, ty, s; purpose 1: phi), hflip, vflip,
// crop (ox, oy). One grid-stride loop, no inner loops.
#include "common.glsl"
#include "augment/augment.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Src { float src[]; };        // [B, C, H, W]
layout(std430, set = 0, binding = 2) writeonly buffer Dst { float dst[]; };       // [B, C, H, W]
layout(std430, set = 0, binding = 3) readonly buffer Stats { float mean_std[]; }; // [mean C][1/std C]

layout(push_constant) uniform Push {
  uint features, plane, width, height, channels;
  float hflip, vflip;  // probabilities
  uint pad;            // crop padding, pixels
  uint affine;         // 1 when any of the next five is not the identity
  float rotate, translate, scale_lo, scale_hi, shear;  // degrees, fraction, factors, degrees
} pc;

vec2 source_point(uint row, vec2 p) {
  vec2 size = vec2(pc.width, pc.height);
  vec2 ctr = (size - 1.0) * 0.5;
  vec2 q = p;
  if (pc.affine != 0u) {
    vec4 u = aug_uniforms(AUG_AFFINE, 0u, row);
    float theta = radians((2.0 * u.x - 1.0) * pc.rotate);
    vec2 t = (2.0 * u.yz - 1.0) * pc.translate * size;
    float s = pc.scale_lo + u.w * (pc.scale_hi - pc.scale_lo);
    const vec2 shear = fv_cos_sin(radians((2.0 * aug_uniforms(AUG_AFFINE, 1u, row).x - 1.0) * pc.shear));
    float k = shear.y / shear.x;
    vec2 d = q - ctr - t;
    const vec2 cs = fv_cos_sin(theta);
    float co = cs.x, si = cs.y;
    d = vec2(co * d.x + si * d.y, co * d.y - si * d.x);  // R(-theta)
    d.x -= k * d.y;                                       // Sh^-1
    q = ctr + d / s;
  }
  if (pc.hflip > 0.0 && aug_uniforms(AUG_HFLIP, 0u, row).x < pc.hflip) q.x = size.x - 1.0 - q.x;
  if (pc.vflip > 0.0 && aug_uniforms(AUG_VFLIP, 0u, row).x < pc.vflip) q.y = size.y - 1.0 - q.y;
  if (pc.pad > 0u) {
    vec2 u = aug_uniforms(AUG_CROP, 0u, row).xy;
    int n = 2 * int(pc.pad) + 1;
    q += vec2(aug_below(u.x, n), aug_below(u.y, n)) - float(pc.pad);
  }
  return q;
}

// src at whole pixel (x, y) of the plane at `base`, or `fill` outside. The
// index is clamped so no load leaves the plane.
float tap(uint base, int x, int y, float fill) {
  bool inside = x >= 0 && y >= 0 && x < int(pc.width) && y < int(pc.height);
  uint xi = uint(clamp(x, 0, int(pc.width) - 1)), yi = uint(clamp(y, 0, int(pc.height) - 1));
  float v = src[base + yi * pc.width + xi];
  return inside ? v : fill;
}

void main() {
  uint limit = P.rows * pc.features;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < limit; e += stride) {
    uint b = e / pc.features, i = e - b * pc.features;
    uint c = i / pc.plane, ip = i - c * pc.plane;
    uint y = ip / pc.width, x = ip - y * pc.width;
    vec2 q = source_point(b, vec2(x, y));
    // Far outside (a huge zoom-out): every tap is fill; keep ints in range.
    q = clamp(q, vec2(-2.0), vec2(pc.width, pc.height) + 1.0);
    vec2 f = floor(q), w = q - f;
    int x0 = int(f.x), y0 = int(f.y);
    uint base = b * pc.features + c * pc.plane;
    float fill = -mean_std[c] * mean_std[pc.channels + c];
    float top = mix(tap(base, x0, y0, fill), tap(base, x0 + 1, y0, fill), w.x);
    float bottom = mix(tap(base, x0, y0 + 1, fill), tap(base, x0 + 1, y0 + 1, fill), w.x);
    dst[e] = mix(top, bottom, w.y);
  }
}
