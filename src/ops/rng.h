// rng: the counter-based generator every random layer and augmentation
// draws from (Philox-4x32-10, shaders/rng/philox.glsl), exposed here as a
// raw fill for tests and tools.
#pragma once
#include <array>

#include "ops/common.h"

namespace fovea::ops {

// out (uint32 words, 4 per block): block i holds philox4x32 of the counter
// (ctr[0] + i, ctr[1], ctr[2], ctr[3]) under `key`, i < blocks.
void record_philox_bits(Program& p, uint32_t blocks, const std::array<uint32_t, 4>& ctr,
                        const std::array<uint32_t, 2>& key, const View& out, const std::string& label);

}  // namespace fovea::ops
