#version 450
// Pass 2 of the global gradient norm, one workgroup: the partial sums of
// squares (partial: [groups], pass 1) added in a fixed order (lane l takes
// l, l + 64, ...; at most 65,535 / 64 iterations; then a tree), and
//   out[0] = norm = sqrt(sum g^2),
//   out[1] = scale = min(1, max_norm / (norm + 1e-6))   (clip_grad_norm_'s clip_coef)
// which the scaling pass (clip.comp) reads: no host round trip.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Partial { float partial[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Out { float o[]; };

layout(push_constant) uniform Push {
  uint groups;
  float max_norm;
} pc;

shared float s[64];

void main() {
  uint l = gl_LocalInvocationID.x;
  float acc = 0.0;
  for (uint i = l; i < pc.groups; i += 64u) acc += partial[i];
  s[l] = acc;
  barrier();
  for (uint h = 32u; h > 0u; h >>= 1u) {
    if (l < h) s[l] += s[l + h];
    barrier();
  }
  if (l == 0u) {
    float norm = sqrt(s[0]);
    o[0] = norm;
    o[1] = min(1.0, pc.max_norm / (norm + 1e-6));
  }
}
