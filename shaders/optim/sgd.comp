#version 450
// SGD with momentum, PyTorch's formulation (dampening 0):
//   g' = g + weight_decay * p
//   v  = momentum * v + g'          (v starts at 0, so the first v is g')
//   p -= lr * (nesterov ? g' + momentum * v : v)
// Fused over every parameter of the model: p, g and v are parallel arrays.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) buffer Param { float p[]; };
layout(std430, set = 0, binding = 2) readonly buffer Grad { float g[]; };
layout(std430, set = 0, binding = 3) buffer Velocity { float v[]; };

layout(push_constant) uniform Push {
  uint count;
  float momentum;
  float weight_decay;
  uint nesterov;
} pc;

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) {
    float grad = g[e] + pc.weight_decay * p[e];
    float vel = pc.momentum * v[e] + grad;
    v[e] = vel;
    p[e] -= P.lr * (pc.nesterov != 0u ? grad + pc.momentum * vel : vel);
  }
}
