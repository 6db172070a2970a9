// The images of `fovea train --sharpen pyramid` below full resolution.
#pragma once
#include <cstdint>

#include "data/idx.h"

namespace fovea::data {

// `set` downsampled by 2^k: [count, C, ceil(H / 2^k), ceil(W / 2^k)], each
// pixel the rounded mean of its 2^k x 2^k block (a block cut by the right
// or bottom edge: the mean of the pixels it holds). k = 0 copies the set.
ImageSet downsample_set(const ImageSet& set, uint32_t k);

}  // namespace fovea::data
