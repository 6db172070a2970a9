// The activation kinds, in the order of fovea::ops::Activation
// (src/ops/activation.h), each with PyTorch's definition and defaults, and
// the push constants both activation kernels share. KIND is the kernel's
// specialisation constant, so every other kind is compiled out.
#include "activation/math.glsl"

#define ACT_RELU 0u
#define ACT_LEAKY_RELU 1u
#define ACT_ELU 2u
#define ACT_SELU 3u
#define ACT_GELU 4u
#define ACT_TANH 5u
#define ACT_SIGMOID 6u
#define ACT_SOFTPLUS 7u
#define ACT_ERF 8u  // forward only: y = erf(x), GELU's erf on its own (tests)

// torch.nn.SELU's fixed constants.
const float kSeluAlpha = 1.6732632423543772;
const float kSeluScale = 1.0507009873554805;

layout(constant_id = 0) const uint KIND = 0u;

layout(push_constant) uniform Push {
  uint count;
  float slope;      // LeakyReLU negative_slope
  float alpha;      // ELU alpha
  float beta;       // Softplus beta
  float threshold;  // Softplus threshold (on beta * x)
} pc;

// y = f(x)
vec4 act_forward(vec4 x) {
  bvec4 pos = greaterThan(x, vec4(0.0));
  if (KIND == ACT_RELU) return mix(vec4(0.0), x, pos);
  if (KIND == ACT_LEAKY_RELU) return mix(x * pc.slope, x, pos);
  // ELU: x > 0 ? x : alpha (exp(x) - 1); SELU: scale * ELU with its alpha.
  if (KIND == ACT_ELU) return mix(pc.alpha * fv_expm1_nonpos(min(x, 0.0)), x, pos);
  if (KIND == ACT_SELU)
    return kSeluScale * mix(kSeluAlpha * fv_expm1_nonpos(min(x, 0.0)), x, pos);
  if (KIND == ACT_GELU) return x * fv_normal_cdf(x);  // x Phi(x), the erf form
  if (KIND == ACT_TANH) return fv_tanh(x);
  if (KIND == ACT_SIGMOID) return fv_sigmoid(x);
  if (KIND == ACT_SOFTPLUS) {
    // beta x > threshold ? x : log(1 + exp(beta x)) / beta
    vec4 z = pc.beta * x;
    return mix(fv_log1pexp(z) / pc.beta, x, greaterThan(z, vec4(pc.threshold)));
  }
  return fv_erf(x);  // ACT_ERF
}

// f'(src), where src is the forward output y for Tanh and Sigmoid and the
// input x for every other kind. The subgradient at a kink is PyTorch's:
// 0 for ReLU, slope for LeakyReLU, alpha for ELU (its branch is x <= 0).
vec4 act_derivative(vec4 s) {
  bvec4 pos = greaterThan(s, vec4(0.0));
  if (KIND == ACT_RELU) return mix(vec4(0.0), vec4(1.0), pos);
  if (KIND == ACT_LEAKY_RELU) return mix(vec4(pc.slope), vec4(1.0), pos);
  if (KIND == ACT_ELU) return mix(pc.alpha * exp(min(s, 0.0)), vec4(1.0), pos);
  if (KIND == ACT_SELU) return kSeluScale * mix(kSeluAlpha * exp(min(s, 0.0)), vec4(1.0), pos);
  // GELU: d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi)
  if (KIND == ACT_GELU) return fv_normal_cdf(s) + s * (0.3989422804014327 * exp(-0.5 * s * s));
  if (KIND == ACT_TANH) return 1.0 - s * s;       // 1 - y^2
  if (KIND == ACT_SIGMOID) return (1.0 - s) * s;  // y (1 - y)
  // Softplus: beta x > threshold ? 1 : sigmoid(beta x)
  vec4 z = pc.beta * s;
  return mix(fv_sigmoid(z), vec4(1.0), greaterThan(z, vec4(pc.threshold)));
}
