#include "data/downsample.h"

#include <algorithm>

#include "util/error.h"

namespace fovea::data {

ImageSet downsample_set(const ImageSet& set, uint32_t k) {
  if (k >= 31) throw Error("internal: downsampling by 2^" + std::to_string(k));
  const uint32_t f = 1u << k;
  ImageSet out = set;
  out.height = (set.height + f - 1) / f;
  out.width = (set.width + f - 1) / f;
  out.pixels.assign(size_t(set.count) * out.image_bytes(), 0);
  const size_t planes = size_t(set.count) * set.channels;
  for (size_t p = 0; p < planes; ++p) {
    const uint8_t* in = &set.pixels[p * set.height * set.width];
    uint8_t* o = &out.pixels[p * out.height * out.width];
    for (uint32_t y = 0; y < out.height; ++y)
      for (uint32_t x = 0; x < out.width; ++x) {
        const uint32_t y1 = std::min(set.height, (y + 1) * f), x1 = std::min(set.width, (x + 1) * f);
        uint32_t sum = 0, n = 0;
        for (uint32_t yy = y * f; yy < y1; ++yy)
          for (uint32_t xx = x * f; xx < x1; ++xx) sum += in[size_t(yy) * set.width + xx], ++n;
        o[size_t(y) * out.width + x] = uint8_t((sum + n / 2) / n);
      }
  }
  return out;
}

}  // namespace fovea::data
