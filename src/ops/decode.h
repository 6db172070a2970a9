// decode: u8 images -> standardised f32, the first op of every step.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

struct DecodeShape {
  uint32_t batch = 0;
  uint32_t channels = 0, height = 0, width = 0;
  uint64_t features() const { return uint64_t(channels) * height * width; }
};

// images: u8 [batch, C, H, W] packed 4 per word (a ring view);
// stats: f32 [mean C][1/std C]; x: f32 [batch, C*H*W]. Rows >= P.rows -> 0.
void record_decode(Program& p, const DecodeShape& s, const View& images, const View& stats,
                   const View& x, const std::string& label);

}  // namespace fovea::ops
