// noise: seeded Gaussian noise on standardised inputs (robustness
// evaluation under --test-noise).
#pragma once
#include "ops/blur.h"

namespace fovea::ops {

// x: [batch, C, H, W] standardised; stats: [mean C][1/std C] (the decode
// statistics). Adds P.noise_std * z / std[c] to every value of the rows
// < P.rows, z ~ N(0, 1) keyed by (seed, P.first_image + row, index).
// noise_std = 0 is one empty dispatch.
void record_gaussian_noise(Program& p, const BlurShape& s, uint32_t seed, const View& x,
                           const View& stats, const std::string& label);

}  // namespace fovea::ops
