// augment: the training-time augmentation of input batches, recorded
// between the decode and the blur of the training step (never in the
// evaluation step). The list and its semantics: src/data/augment.h; the
// kernels: shaders/augment/.
#pragma once
#include "data/augment.h"
#include "ops/common.h"

namespace fovea::ops {

using AugmentShape = BatchShape;

// x: [batch, C, H, W] standardised, augmented in place through `scratch`
// (same size): x -> scratch by the geometric map (augment/geometry; a
// plain copy when the list has no geometric item), then scratch -> x by
// the pixel ops and mixing (augment/pixel). stats: [mean C][1/std C] (the
// decode's); labels: u32 [batch] followed by the data::MixDraw block
// (batch + data::kMixWords words; read only when the list mixes). Only
// rows < P.rows are written. A list with no item records nothing. Draws
// are keyed by (P.seed, P.step, image row) (augment.glsl).
void record_augment(Program& p, const AugmentShape& s, const data::AugmentConfig& cfg, const View& x,
                    const View& scratch, const View& stats, const View& labels, const std::string& label);

}  // namespace fovea::ops
