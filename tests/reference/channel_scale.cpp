#include "reference/channel_scale.h"

namespace fovea::ref {

Tensor channel_scale(const Tensor& x, const Tensor& s, uint64_t rows, uint64_t plane) {
  Tensor y(rows * plane);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t p = 0; p < plane; ++p) y[r * plane + p] = x[r * plane + p] * s[r];
  return y;
}

Tensor channel_scale_ds(const Tensor& x, const Tensor& dy, uint64_t rows, uint64_t plane) {
  Tensor ds(rows);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t p = 0; p < plane; ++p) ds[r] += dy[r * plane + p] * x[r * plane + p];
  return ds;
}

}  // namespace fovea::ref
