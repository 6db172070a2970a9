// Shared by the augmentation kernels: the per-image random draws. Each
// (kind, purpose, image row) gives four uniforms in [0, 1), the four words
// of one Philox block: word k is philox_uniform(P.seed, 0x41000000 + kind,
// P.step, purpose, 4 row + k) under Fovea's keying (rng/philox.glsl), so a
// run's seed and step fix every image's transform on every device. row is
// the image's row in the global batch (+ P.first_row on a data-parallel
// rank), so any number of ranks draws the same transforms.
// The kinds are data::AugmentKind (src/data/augment.h).
#include "rng/philox.glsl"

const uint AUG_STREAM = 0x41000000u;
const uint AUG_HFLIP = 1u, AUG_VFLIP = 2u, AUG_CROP = 3u, AUG_AFFINE = 4u, AUG_BRIGHTNESS = 5u,
           AUG_CONTRAST = 6u, AUG_NOISE = 7u, AUG_CUTOUT = 8u, AUG_ERASE = 9u;
const uint AUG_ERASE_TRIES = 10u;

vec4 aug_uniforms(uint kind, uint purpose, uint row) {
  uvec4 r = philox4x32(uvec4(row + P.first_row, P.step, purpose, 0u), uvec2(P.seed, AUG_STREAM + kind));
  return vec4(r >> 8u) * (1.0 / 16777216.0);
}

// An integer uniform in 0..n-1 from u in [0, 1) (float rounding of u n
// can reach n: clamped).
int aug_below(float u, int n) { return min(int(floor(u * float(n))), n - 1); }

// The per-image draws buffer (augment/draws.comp writes it; geometry and
// pixel read it): words of row b at header + AUGMENT_DRAW_WORDS * b. Keep
// in step with ops::kAugmentDrawWords and ops::augment_draws_header().
const uint AUGMENT_DRAW_WORDS = 20u, AUGMENT_MIX_WORDS = 8u;
const uint AUGMENT_DRAW_COS = 0u, AUGMENT_DRAW_SIN = 1u, AUGMENT_DRAW_SHEAR = 2u, AUGMENT_DRAW_TX = 3u,
           AUGMENT_DRAW_TY = 4u, AUGMENT_DRAW_SCALE = 5u, AUGMENT_DRAW_HFLIP = 6u, AUGMENT_DRAW_VFLIP = 7u,
           AUGMENT_DRAW_CROP_X = 8u, AUGMENT_DRAW_CROP_Y = 9u, AUGMENT_DRAW_BRIGHTNESS = 10u,
           AUGMENT_DRAW_CONTRAST = 11u, AUGMENT_DRAW_CUTOUT_Y = 12u, AUGMENT_DRAW_CUTOUT_X = 13u,
           AUGMENT_DRAW_ERASE_TOP = 14u, AUGMENT_DRAW_ERASE_LEFT = 15u, AUGMENT_DRAW_ERASE_H = 16u,
           AUGMENT_DRAW_ERASE_W = 17u;
