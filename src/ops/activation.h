// activation: element-wise non-linearities and their gradients, with
// PyTorch's definitions and defaults. One forward and one backward kernel
// (shaders/activation/{forward,backward}.comp) serve every kind, chosen by a
// specialisation constant; float parameters travel in push constants.
#pragma once
#include <string_view>

#include "ops/common.h"

namespace fovea::ops {

// The order is the kernels' KIND constant (shaders/activation/kinds.glsl).
enum class Activation : uint32_t {
  Relu,       // max(x, 0)
  LeakyRelu,  // x > 0 ? x : slope x
  Elu,        // x > 0 ? x : alpha (exp(x) - 1)
  Selu,       // scale (x > 0 ? x : alpha (exp(x) - 1)), PyTorch's fixed
              // alpha = 1.6732632423543772, scale = 1.0507009873554805
  Gelu,       // x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, the exact (erf) form
  Tanh,       // tanh(x)
  Sigmoid,    // 1 / (1 + exp(-x))
  Softplus,   // beta x > threshold ? x : log(1 + exp(beta x)) / beta
};

// PyTorch's defaults; each kind reads only its own fields.
struct ActivationParams {
  float slope = 0.01f;      // LeakyReLU negative_slope
  float alpha = 1.0f;       // ELU alpha (SELU ignores it)
  float beta = 1.0f;        // Softplus beta (non-zero)
  float threshold = 20.0f;  // Softplus: identity where beta x > threshold
};

// "relu", "leaky_relu", "elu", "selu", "gelu", "tanh", "sigmoid",
// "softplus"; anything else throws fovea::Error listing these names.
Activation parse_activation(std::string_view name);
const char* activation_name(Activation a);

// Which forward tensor the backward reads: the output y for Tanh and
// Sigmoid (dx = dy (1 - y^2), dy y (1 - y)), the input x for all others.
bool activation_backward_uses_output(Activation a);

// y = f(x) over `count` values. x and y must not overlap.
void record_activation_forward(Program& p, Activation a, const ActivationParams& q, uint64_t count,
                               const View& x, const View& y, const std::string& label);

// dx = dy * f'(.) over `count` values. Pass the tensor the backward reads
// (y when activation_backward_uses_output(a), else x); the other may be an
// invalid View{}. Subgradients at kinks are PyTorch's: 0 for ReLU at 0,
// slope for LeakyReLU at 0, alpha (x <= 0 branch) for ELU and SELU.
void record_activation_backward(Program& p, Activation a, const ActivationParams& q, uint64_t count,
                                const View& x, const View& y, const View& dy, const View& dx,
                                const std::string& label);

// y = max(x, 0) over `count` values (the generic kernel with Relu)
void record_relu_forward(Program& p, uint64_t count, const View& x, const View& y,
                         const std::string& label);
// dx = dy * [y > 0]; y is the forward output (ReLU's mask [x > 0] is the
// same as [relu(x) > 0], so the generic kernel reads y in x's place)
void record_relu_backward(Program& p, uint64_t count, const View& y, const View& dy, const View& dx,
                          const std::string& label);

// y = erf(x) over `count` values: the float erf behind Gelu (absolute error
// ~1e-7), recorded on its own so that tests can check it directly.
void record_erf(Program& p, uint64_t count, const View& x, const View& y, const std::string& label);

}  // namespace fovea::ops
