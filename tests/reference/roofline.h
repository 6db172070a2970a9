// Reference for the roofline's FMA micro-kernel (src/ops/roofline.h).
#pragma once
#include <cstdint>

#include "reference/tensor.h"

namespace fovea::ref {

// y[i] = sum over j < 16 of f^iterations(x[i] + j / 16), f(v) = v * a + b.
Tensor fma_loop(const Tensor& x, uint32_t iterations, double a, double b);

}  // namespace fovea::ref
