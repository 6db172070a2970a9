// The pooling family's layers: maxpool2d and avgpool2d (with their pooling
// dropouts), max_drop, fractional_maxpool2d and global_avgpool2d.
#pragma once
#include <memory>

#include "nn/layers.h"

namespace fovea::nn {

std::unique_ptr<Layer> make_pool_layer(const LayerSpec& spec);

}  // namespace fovea::nn
