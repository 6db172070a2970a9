#version 450
// Spectral normalisation, backward coefficients: with D = sum(dW_sn W) (the
// B partials of weight_norm/ws_reduce over the flattened weight, added in
// chunk order), coef[0] = 1/sigma and coef[1] = D / sigma^2, so that
// dW = dW_sn coef[0] - coef[1] u v^T. One lane loops over the chunks
// (<= 16,384, checked on the host).
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Part { float part[]; };    // [chunks, 2]
layout(std430, set = 0, binding = 2) readonly buffer Sigma { float sigma[]; };  // [1]
layout(std430, set = 0, binding = 3) writeonly buffer Coef { float coef[]; };   // [2]

layout(push_constant) uniform Push { uint chunks; } pc;

void main() {
  if (gl_LocalInvocationID.x != 0u) return;
  float D = 0.0;
  for (uint c = 0u; c < pc.chunks; ++c) D += part[2u * c + 1u];
  const float inv = 1.0 / sigma[0];
  coef[0] = inv;
  coef[1] = D * inv * inv;
}
