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
// are keyed by (P.seed, P.step, image row) (augment.glsl), made once per
// image into a scratch buffer of the program by record_augment_draws.
void record_augment(Program& p, const AugmentShape& s, const data::AugmentConfig& cfg, const View& x,
                    const View& scratch, const View& stats, const View& labels, const std::string& label);

// The per-image draws of a step (shaders/augment/draws.comp): u32 words,
// the statistics [mean C][1/std C], the mix block (data::kMixWords words,
// copied when the list mixes), then kAugmentDrawWords per image row from
// augment_draws_header(s) on (the layout: augment.glsl's AUGMENT_DRAW_*).
constexpr uint32_t kAugmentDrawWords = 20;
uint32_t augment_draws_header(const AugmentShape& s);
uint64_t augment_draws_words(const AugmentShape& s);
void record_augment_draws(Program& p, const AugmentShape& s, const data::AugmentConfig& cfg, const View& stats,
                          const View& labels, const View& draws, const std::string& label);

}  // namespace fovea::ops
