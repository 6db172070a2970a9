// max_drop reference: Max-Drop (Park & Kwak) on x: [N, C, H, W] in double,
// given the uniform draw of every element (the test draws them with
// ref::philox_uniform, as the kernels do).
#pragma once
#include <cstdint>

#include "reference/tensor.h"

namespace fovea::ref {

struct MaxDropShape {
  uint32_t batch = 0, channels = 0, height = 0, width = 0;
  bool across_channels = false;  // groups: positions [n, h, w] over C, else feature maps [n, c]
};

// The maximum of each group (feature maps: [N * C]; across channels:
// [N * H * W]), NaN ignored.
Tensor max_drop_maxima(const MaxDropShape& s, const Tensor& x);
// dropped[e] = x[e] equals its group's maximum and u[e] < float(p).
std::vector<uint8_t> max_drop_dropped(const MaxDropShape& s, const Tensor& x, const Tensor& u, float p);
// y = x with the dropped units 0; dx = dy likewise.
Tensor max_drop_apply(const Tensor& v, const std::vector<uint8_t>& dropped);

}  // namespace fovea::ref
