// adversarial: one step of an input-gradient attack on a batch of
// standardised images (FGSM, Goodfellow et al. 2015; PGD, Madry et al.
// 2018). Sizes are in [0, 1] pixel units; x0, g and x are standardised,
// x = (pixel - mean_c) / std_c, so per channel c the step is alpha / std_c,
// the ball's radius eps / std_c and the valid range [(0 - mean_c) / std_c,
// (1 - mean_c) / std_c]:
//   x' = clamp(clamp(from + (alpha / std_c) sign(g), x0 - eps / std_c, x0 + eps / std_c),
//              -mean_c / std_c, (1 - mean_c) / std_c)
// sign(0) = 0 (torch.sign). FGSM is one step from x0 with alpha = eps; PGD
// repeats the step from the previous x' (the projection onto the eps ball
// keeps it within eps of x0).
#pragma once
#include "ops/common.h"

namespace fovea::ops {

// The Philox stream of the per-step choice (shaders/rng/philox.glsl keying).
constexpr uint32_t kAdversarialStream = 0x41100000u;

struct AdversarialStep {
  BatchShape shape;        // x0, g, x: [batch, C, H, W]
  float eps = 0;           // radius of the ball around x0, pixel units, in [0, 1]
  float alpha = 0;         // this step's size, pixel units (FGSM: eps)
  bool first = true;       // from = x0 (x is only written); else from = x (read, then written)
  // The step is taken in a training step with this probability (clean and
  // adversarial batches mixed); otherwise x = x0. The choice is Philox's
  // uniform keyed by (P.seed, kAdversarialStream, P.step, 0, 0) < probability:
  // the same for every row, every PGD step and every rank. 1: always.
  float probability = 1;
};

// stats: the decode statistics, f32 [mean C][1/std C] (ops/decode.h). Rows
// >= P.rows (padding) get x = x0. Throws fovea::Error naming `label` for
// eps, alpha or probability outside [0, 1] or not finite, an empty shape,
// 2^32 values or more, or views too small.
void record_adversarial_step(Program& p, const AdversarialStep& a, const View& stats, const View& x0,
                             const View& g, const View& x, const std::string& label);

}  // namespace fovea::ops
