#version 450
// SGD with momentum, PyTorch's formulation (dampening 0):
//   g' = g + weight_decay * p
//   v  = momentum * v + g'          (v starts at 0, so the first v is g')
//   p -= lr * (nesterov ? g' + momentum * v : v)
// Fused over every parameter of the model: p, g and v are parallel arrays.
// Each lane updates 4 values with 16-byte loads and stores (on lavapipe
// scalar storage-buffer access costs per lane, so vec4 access is ~4x
// cheaper); the last count % 4 values go through scalar aliases of the same
// bindings.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) buffer Param { vec4 p4[]; };
layout(std430, set = 0, binding = 2) readonly buffer Grad { vec4 g4[]; };
layout(std430, set = 0, binding = 3) buffer Velocity { vec4 v4[]; };
layout(std430, set = 0, binding = 1) buffer ParamTail { float p[]; };
layout(std430, set = 0, binding = 2) readonly buffer GradTail { float g[]; };
layout(std430, set = 0, binding = 3) buffer VelocityTail { float v[]; };

layout(push_constant) uniform Push {
  uint count;
  float momentum;
  float weight_decay;
  uint nesterov;
} pc;

void main() {
  uint n4 = pc.count / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < n4; e += stride) {
    vec4 pv = p4[e];
    vec4 grad = g4[e] + pc.weight_decay * pv;
    vec4 vel = pc.momentum * v4[e] + grad;
    v4[e] = vel;
    p4[e] = pv - P.lr * (pc.nesterov != 0u ? grad + pc.momentum * vel : vel);
  }
  if (gl_GlobalInvocationID.x == 0u) {
    for (uint e = 4u * n4; e < pc.count; ++e) {
      float grad = g[e] + pc.weight_decay * p[e];
      float vel = pc.momentum * v[e] + grad;
      v[e] = vel;
      p[e] -= P.lr * (pc.nesterov != 0u ? grad + pc.momentum * vel : vel);
    }
  }
}
