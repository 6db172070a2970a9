#include "ops/common.h"

#include <algorithm>

#include "util/error.h"

namespace fovea::ops {

uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

uint32_t stride_groups(uint64_t count) {
  return uint32_t(std::clamp<uint64_t>(ceil_div(count, 64), 1, 65535));
}

void require_floats(const View& v, uint64_t floats, const std::string& what) {
  if (v.size < floats * 4)
    throw Error(what + ": view " + v.name + " holds " + std::to_string(v.size / 4) +
                " values, needs " + std::to_string(floats));
}

}  // namespace fovea::ops
