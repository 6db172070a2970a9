#include "reference/decode.h"

namespace fovea::ref {

Tensor decode(const DecodeShape& s, uint32_t rows, const std::vector<uint8_t>& images,
              const Tensor& mean, const Tensor& stddev) {
  const uint64_t D = s.features(), plane = uint64_t(s.height) * s.width;
  Tensor x(s.batch * D, 0.0);
  for (uint64_t b = 0; b < rows && b < s.batch; ++b)
    for (uint64_t c = 0; c < s.channels; ++c)
      for (uint64_t i = 0; i < plane; ++i) {
        uint64_t e = b * D + c * plane + i;
        x[e] = (images[e] / 255.0 - mean[c]) / stddev[c];
      }
  return x;
}

}  // namespace fovea::ref
