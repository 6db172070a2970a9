#version 450
// Per-channel parameter gradients from norm/finalize_grad's plane sums:
//   dgamma[c] = sum_n (sum dy xhat)[n*C + c],   dbeta[c] = sum_n A[n*C + c]
// over the samples n < samples in order (Instance and GroupNorm: planes
// (n, c); the planes of padding samples hold 0, as norm/reduce gives them
// no valid values), or the single plane c (samples = 1, BatchNorm: its
// planes already span the batch). daffine = [2, C].
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Coef { float coef[]; };
layout(std430, set = 0, binding = 2) writeonly buffer DAffine { float daffine[]; };  // [2, C]

// a_row, x_row: offsets (floats) of the A and sum-dy-xhat rows in coef.
layout(push_constant) uniform Push { uint C, samples, a_row, x_row; } pc;

void main() {
  const uint c = gl_GlobalInvocationID.x;
  if (c >= pc.C) return;
  float dg = 0.0, db = 0.0;
  for (uint n = 0; n < pc.samples; ++n) {
    dg += coef[pc.x_row + n * pc.C + c];
    db += coef[pc.a_row + n * pc.C + c];
  }
  daffine[c] = dg;
  daffine[pc.C + c] = db;
}
