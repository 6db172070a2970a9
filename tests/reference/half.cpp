#include "reference/half.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace fovea::ref {

double half_value(uint16_t bits) {
  const double sign = (bits & 0x8000u) ? -1.0 : 1.0;
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  if (exponent == 0x1f)
    return mantissa ? std::numeric_limits<double>::quiet_NaN() : sign * std::numeric_limits<double>::infinity();
  if (exponent == 0) return sign * std::ldexp(double(mantissa), -24);
  return sign * std::ldexp(double(1024 + mantissa), exponent - 25);
}

Tensor unpack_halves(const std::vector<float>& words, uint64_t n) {
  Tensor out(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t w;
    std::memcpy(&w, &words[i / 2], 4);
    out[i] = half_value(uint16_t(i % 2 ? w >> 16 : w & 0xffffu));
  }
  return out;
}

double round_half(double x) {
  if (x == 0.0) return x;
  // The spacing of binary16 values near x: 2^(e - 10) for normal values
  // (e = floor(log2 |x|)), 2^-24 for subnormals (e < -14).
  const int e = std::max(std::ilogb(x), -14);
  const double ulp = std::ldexp(1.0, e - 10);
  return std::nearbyint(x / ulp) * ulp;  // the default rounding mode: ties to even
}

Tensor round_half(const std::vector<float>& v) {
  Tensor out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = round_half(double(v[i]));
  return out;
}

}  // namespace fovea::ref
