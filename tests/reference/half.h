// fp16 helpers for the references of the fp16 paths (conv2d's fp16 im2col
// columns, the cooperative-matrix GEMM): IEEE binary16 decoding and
// round-to-nearest-even, in double.
#pragma once
#include <cstdint>
#include <vector>

#include "reference/tensor.h"

namespace fovea::ref {

// The value of an IEEE binary16 bit pattern (subnormals included; inf/NaN
// as such).
double half_value(uint16_t bits);
// The n binary16 values packed two per 32-bit word (little-endian: element
// 2i in the low half of word i), as read back from a GPU buffer of floats.
Tensor unpack_halves(const std::vector<float>& words, uint64_t n);
// x rounded to the nearest binary16 value, ties to even (what a GPU's
// float -> float16 conversion does by default), for |x| < 65520.
double round_half(double x);
Tensor round_half(const std::vector<float>& v);

}  // namespace fovea::ref
