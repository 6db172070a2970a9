// corrupt reference: the test-time corruptions of src/data/corrupt.h on one
// image, written pixel by pixel in double. JPEG is a baseline JPEG of a grey
// image computed from its definition: 8x8 blocks (edges replicated), the
// orthonormal DCT, the luminance table of the JPEG standard (Annex K)
// scaled by the quality as the IJG library does, rounding to the nearest
// step, and the inverse DCT.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fovea::ref {

struct Image {
  uint32_t channels = 1, height = 0, width = 0;
  std::vector<uint8_t> px;  // planar [channels, height, width]
  uint8_t at(uint32_t c, int64_t y, int64_t x) const { return px[(size_t(c) * height + size_t(y)) * width + size_t(x)]; }
};

Image contrast(const Image& in, double factor);
Image brightness(const Image& in, double shift);
Image salt_pepper(const Image& in, double fraction, uint32_t seed, uint32_t image);
Image translate(const Image& in, uint32_t shift, uint32_t seed, uint32_t image);
Image jpeg_grey(const Image& in, int quality);  // channels 1 only

}  // namespace fovea::ref
