#version 450
// dx = dy * f'(src) element-wise over pc.count values, f the activation
// KIND (activation/kinds.glsl); src is the forward output y for Tanh and
// Sigmoid, the input x otherwise (ops::activation_backward_uses_output).
// Vec4 grid-stride loop plus a scalar tail, as in activation/forward.
#include "common.glsl"
#include "activation/kinds.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer S { vec4 s4[]; };
layout(std430, set = 0, binding = 2) readonly buffer DY { vec4 dy4[]; };
layout(std430, set = 0, binding = 3) writeonly buffer DX { vec4 dx4[]; };
layout(std430, set = 0, binding = 1) readonly buffer STail { float s[]; };
layout(std430, set = 0, binding = 2) readonly buffer DYTail { float dy[]; };
layout(std430, set = 0, binding = 3) writeonly buffer DXTail { float dx[]; };

// ReLU and LeakyReLU select rather than multiply, so dx is exactly dy, 0 or
// dy * slope, as PyTorch's threshold_backward / leaky_relu_backward give.
vec4 act_backward(vec4 src, vec4 g) {
  if (KIND == ACT_RELU) return mix(vec4(0.0), g, greaterThan(src, vec4(0.0)));
  if (KIND == ACT_LEAKY_RELU) return mix(g * pc.slope, g, greaterThan(src, vec4(0.0)));
  return g * act_derivative(src);
}

void main() {
  uint n4 = pc.count / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < n4; e += stride) dx4[e] = act_backward(s4[e], dy4[e]);
  uint tail = 4u * n4 + gl_GlobalInvocationID.x;
  if (tail < pc.count) dx[tail] = act_backward(vec4(s[tail]), vec4(dy[tail])).x;
}
