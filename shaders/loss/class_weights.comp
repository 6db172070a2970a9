#version 450
// The block the class-weighted softmax_xent (WEIGHTED = 1) reads in place of
// its labels: out[0, words) = the labels (and mix block) as given, then
//   out[words]          = W = sum over valid rows b < P.rows of w[label[b]]
//   out[words + 1]      = S = sum_k w_k
//   out[words + 2 + k]  = w_k
// (float bits). One workgroup: each lane sums a strided share, then a fixed
// tree adds the 64 shares, so W and S are deterministic. Each lane loops
// (words + rows + K) / 64 times (the host keeps that inside the budget).
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Labels { uint label[]; };   // [words]
layout(std430, set = 0, binding = 2) readonly buffer Weights { float w[]; };     // [K]
layout(std430, set = 0, binding = 3) writeonly buffer Out { uint out_[]; };      // [words + 2 + K]

layout(push_constant) uniform Push { uint batch, K, words; } pc;

shared float s_rows[64];
shared float s_classes[64];

void main() {
  uint t = gl_LocalInvocationID.x;
  for (uint i = t; i < pc.words; i += 64u) out_[i] = label[i];
  float rows = 0.0, classes = 0.0;
  for (uint b = t; b < min(P.rows, pc.batch); b += 64u) rows += w[min(label[b], pc.K - 1u)];
  for (uint k = t; k < pc.K; k += 64u) {
    classes += w[k];
    out_[pc.words + 2u + k] = floatBitsToUint(w[k]);
  }
  s_rows[t] = rows;
  s_classes[t] = classes;
  barrier();
  for (uint half_ = 32u; half_ > 0u; half_ >>= 1) {
    if (t < half_) {
      s_rows[t] += s_rows[t + half_];
      s_classes[t] += s_classes[t + half_];
    }
    barrier();
  }
  if (t == 0u) {
    out_[pc.words] = floatBitsToUint(s_rows[0]);
    out_[pc.words + 1u] = floatBitsToUint(s_classes[0]);
  }
}
