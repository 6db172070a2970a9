#include "reference/tensor_ops.h"

namespace fovea::ref {

Tensor axpy(const Tensor& a, const Tensor& b, uint64_t count, uint32_t stride, double alpha, double beta) {
  Tensor y = a;
  for (uint64_t e = 0; e < count; ++e) y[e * stride] = beta * a[e * stride] + alpha * b[e * stride];
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] + b[i];
  return y;
}

Tensor concat_channels(const std::vector<Tensor>& xs, const std::vector<uint32_t>& channels,
                       uint32_t batch, uint32_t plane) {
  uint32_t cy = 0;
  for (uint32_t c : channels) cy += c;
  Tensor y(size_t(batch) * cy * plane);
  for (uint32_t b = 0; b < batch; ++b) {
    uint32_t off = 0;
    for (size_t t = 0; t < xs.size(); ++t) {
      for (uint32_t c = 0; c < channels[t]; ++c)
        for (uint32_t p = 0; p < plane; ++p)
          y[(size_t(b) * cy + off + c) * plane + p] = xs[t][(size_t(b) * channels[t] + c) * plane + p];
      off += channels[t];
    }
  }
  return y;
}

}  // namespace fovea::ref
