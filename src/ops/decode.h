// decode: u8 images -> standardised f32, the first op of every step.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

using DecodeShape = BatchShape;

// images: u8 [batch, C, H, W] packed 4 per word (a ring view);
// stats: f32 [mean C][1/std C]; x: f32 [batch, C*H*W]. Rows >= P.rows -> 0.
void record_decode(Program& p, const DecodeShape& s, const View& images, const View& stats,
                   const View& x, const std::string& label);

}  // namespace fovea::ops
