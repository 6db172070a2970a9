#version 450
// Per row b < P.rows, with z = logits[b, :], y = label[b]:
//   loss[b]    = log(sum_k exp(z_k - m)) + m - z_y,   m = max_k z_k
//   correct[b] = argmax_k z_k == y (first maximum wins, like torch.argmax)
//   dz[b, k]   = (softmax(z)_k - [k == y]) / P.rows   (mean reduction)
// Padding rows get loss 0, correct 0 and dz 0. stats = [loss, correct] per
// row. K <= 65535 (the model spec enforces it), so the class loops stay
// under lavapipe's loop cap.
#include "common.glsl"
layout(constant_id = 0) const uint WRITE_GRAD = 1;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Z { float z[]; };          // [B, K]
layout(std430, set = 0, binding = 2) readonly buffer Labels { uint label[]; };  // [B]
layout(std430, set = 0, binding = 3) writeonly buffer DZ { float dz[]; };       // [B, K]
layout(std430, set = 0, binding = 4) writeonly buffer Stats { float stats[]; }; // [B, 2]

layout(push_constant) uniform Push { uint batch, K; } pc;

void main() {
  uint b = gl_GlobalInvocationID.x;
  if (b >= pc.batch) return;
  uint base = b * pc.K;
  if (b >= P.rows) {
    stats[2 * b] = 0.0;
    stats[2 * b + 1] = 0.0;
    if (WRITE_GRAD != 0u)
      for (uint k = 0; k < pc.K; ++k) dz[base + k] = 0.0;
    return;
  }
  uint y = label[b];
  float m = z[base];
  uint arg = 0;
  for (uint k = 1; k < pc.K; ++k) {
    float v = z[base + k];
    if (v > m) { m = v; arg = k; }
  }
  float s = 0.0;
  for (uint k = 0; k < pc.K; ++k) s += exp(z[base + k] - m);
  stats[2 * b] = log(s) + m - z[base + y];
  stats[2 * b + 1] = arg == y ? 1.0 : 0.0;
  if (WRITE_GRAD != 0u) {
    float inv_s = 1.0 / s;
    float inv_n = 1.0 / float(P.rows);
    for (uint k = 0; k < pc.K; ++k) {
      float p = exp(z[base + k] - m) * inv_s;
      dz[base + k] = (p - (k == y ? 1.0 : 0.0)) * inv_n;
    }
  }
}
