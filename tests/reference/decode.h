// decode reference: u8 images -> standardised values (the first op of a step).
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

struct DecodeShape {
  uint32_t batch = 0, channels = 0, height = 0, width = 0;
  uint64_t features() const { return uint64_t(channels) * height * width; }
};

// images: u8 [batch, C, H, W]; mean, stddev: [C] -> x: [batch, C*H*W] with
// x[b, c, h, w] = (images[b, c, h, w] / 255 - mean[c]) / stddev[c] for
// b < rows, and 0 for the padding rows b >= rows.
Tensor decode(const DecodeShape& s, uint32_t rows, const std::vector<uint8_t>& images,
              const Tensor& mean, const Tensor& stddev);

}  // namespace fovea::ref
