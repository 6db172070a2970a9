// activation: element-wise non-linearities and their gradients.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

// y = max(x, 0) over `count` values
void record_relu_forward(Program& p, uint64_t count, const View& x, const View& y,
                         const std::string& label);
// dx = dy * [y > 0]; y is the forward output
void record_relu_backward(Program& p, uint64_t count, const View& y, const View& dy,
                          const View& dx, const std::string& label);

}  // namespace fovea::ops
