// Shared by the augmentation kernels: the per-image random draws. Each
// (kind, purpose, image row) gives four uniforms in [0, 1), the four words
// of one Philox block: word k is philox_uniform(P.seed, 0x41000000 + kind,
// P.step, purpose, 4 row + k) under Fovea's keying (rng/philox.glsl), so a
// run's seed and step fix every image's transform on every device.
// The kinds are data::AugmentKind (src/data/augment.h).
#include "rng/philox.glsl"

const uint AUG_STREAM = 0x41000000u;
const uint AUG_HFLIP = 1u, AUG_VFLIP = 2u, AUG_CROP = 3u, AUG_AFFINE = 4u, AUG_BRIGHTNESS = 5u,
           AUG_CONTRAST = 6u, AUG_NOISE = 7u, AUG_CUTOUT = 8u, AUG_ERASE = 9u;
const uint AUG_ERASE_TRIES = 10u;

vec4 aug_uniforms(uint kind, uint purpose, uint row) {
  uvec4 r = philox4x32(uvec4(row, P.step, purpose, 0u), uvec2(P.seed, AUG_STREAM + kind));
  return vec4(r >> 8u) * (1.0 / 16777216.0);
}

// An integer uniform in 0..n-1 from u in [0, 1) (float rounding of u n
// can reach n: clamped).
int aug_below(float u, int n) { return min(int(floor(u * float(n))), n - 1); }
