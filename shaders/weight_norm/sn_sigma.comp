#version 450
// Spectral normalisation in evaluation mode: sigma = u^T W v = sum_o u[o] s[o]
// with s = W v (the stored vectors, which stay untouched). One workgroup,
// ceil(rows/64) iterations per lane.
#include "weight_norm/weight_norm.glsl"

layout(std430, set = 0, binding = 1) readonly buffer S { float s[]; };    // [rows]
layout(std430, set = 0, binding = 2) readonly buffer UV { float uv[]; };  // u at 0
layout(std430, set = 0, binding = 3) writeonly buffer Sigma { float sigma[]; };  // [1]

layout(push_constant) uniform Push { uint rows, iters; } pc;

void main() {
  uint o = first_unit(0u, pc.iters);
  float acc = 0.0;
  for (uint i = 0u; i < pc.iters; ++i, o += WIDTH) {
    const uint k = o < pc.rows ? o : 0u;
    acc += o < pc.rows ? uv[k] * s[k] : 0.0;
  }
  const float sig = workgroup_sum(vec2(acc, 0.0)).x;
  if (gl_LocalInvocationID.x == 0u) sigma[0] = sig;
}
