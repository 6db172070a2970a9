// Building-block layers: channel_shuffle (ShuffleNet) and squeeze_excitation
// (Hu et al.; torchvision's SqueezeExcitation).
#pragma once
#include <memory>

#include "nn/layers.h"

namespace fovea::nn {

std::unique_ptr<Layer> make_block_layer(const LayerSpec& spec);

}  // namespace fovea::nn
