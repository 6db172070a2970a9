// The oracle's tensor type: plain row-major doubles. Every reference op in
// tests/reference computes in double from float inputs, so its own rounding
// error is far below the float32 kernels it judges.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fovea::ref {

using Tensor = std::vector<double>;

inline Tensor widen(const std::vector<float>& v) { return Tensor(v.begin(), v.end()); }

}  // namespace fovea::ref
