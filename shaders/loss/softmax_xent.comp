#version 450
// Per row b < P.rows, with z = logits[b, :], y = label[b], K classes and
// label smoothing e in [0, 1) (PyTorch's CrossEntropyLoss(label_smoothing=e)),
// target q_k = (1 - e) [k == y] + e / K, m = max_k z_k, s = sum_k exp(z_k - m):
//   loss[b]    = -sum_k q_k log softmax(z)_k
//              = log(s) - (1 - e)(z_y - m) - e mean_k(z_k - m)
//                (three non-negative terms: no cancellation)
//   correct[b] = argmax_k z_k == y (first maximum wins, like torch.argmax)
//   dz[b, k]   = (softmax(z)_k - q_k) / P.rows   (mean reduction; loss_divisor()
//                in common.glsl: P.loss_rows when data-parallel)
// Padding rows get loss 0, correct 0 and dz 0. stats = [loss, correct] per
// row. Three loops over the K classes run in one invocation, so K <= 16384
// (the model spec enforces it) keeps them under lavapipe's 65,535-iteration
// budget per invocation.
// MIX = 1 (mixup / cutmix, src/data/augment.h): labels holds the batch's
// labels then the data::MixDraw block at label[batch]. When its mode is not
// 0, row b's target mixes two labels: y_b with weight lam and y_j, j = (b +
// shift) mod P.rows, with weight 1 - lam:
//   q_k = (1 - e)(lam [k == y_b] + (1 - lam) [k == y_j]) + e / K
//   loss[b] = log(s) - (1 - e)(lam (z_yb - m) + (1 - lam)(z_yj - m)) - e mean_k(z_k - m)
// and correct[b] counts the label with the larger weight (y_b when lam >=
// 0.5). MIX = 0 is the kernel without mixing, operation for operation.
// WEIGHTED = 1 (class weights w, torch's CrossEntropyLoss(weight=w,
// label_smoothing=e) with mean reduction): labels is loss/class_weights'
// block, the labels (and mix block) then, at label[words], W = the sum of
// w_y over the valid rows, S = sum_k w_k, and w_0 .. w_{K-1} (float bits).
// With a = (1 - e) lam w_yb, a2 = (1 - e)(1 - lam) w_yj (a2 = 0 unmixed):
//   c_b  = (a + a2 + e S / K) log(s) - a (z_yb - m) - a2 (z_yj - m)
//          - (e / K) sum_k w_k (z_k - m)        (non-negative terms for w >= 0)
//   loss[b]  = c_b loss_divisor() / W  (the mean over the rows is sum_b c_b / W)
//   dz[b, k] = ((a + a2 + e S / K) softmax(z)_k - a [k == y_b] - a2 [k == y_j]
//               - e w_k / K) / W
// and zeros where W = 0 (every valid row's class weighs 0; torch: NaN).
#include "common.glsl"
layout(constant_id = 0) const uint WRITE_GRAD = 1;
layout(constant_id = 1) const uint MIX = 0;
layout(constant_id = 2) const uint WEIGHTED = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Z { float z[]; };          // [B, K]
layout(std430, set = 0, binding = 2) readonly buffer Labels { uint label[]; };  // [B]
layout(std430, set = 0, binding = 3) writeonly buffer DZ { float dz[]; };       // [B, K]
layout(std430, set = 0, binding = 4) writeonly buffer Stats { float stats[]; }; // [B, 2]

layout(push_constant) uniform Push { uint batch, K; float smoothing; uint words; } pc;

// WEIGHTED: w_k (W and S sit before it; see the top).
float class_weight(uint k) { return uintBitsToFloat(label[pc.words + 2u + k]); }

// The WEIGHTED kernel's loss, correct and gradient for row b (see the top).
void weighted(uint b, bool valid, uint base, uint y, uint y2, float lam, float m, float s, float wshifted,
              uint arg) {
  float e = pc.smoothing;
  float W = uintBitsToFloat(label[pc.words]);
  float inv_w = valid && W > 0.0 ? 1.0 / W : 0.0;
  // Labels are < K (padding rows' too); min() keeps any other word in bounds.
  float a = (1.0 - e) * lam * class_weight(min(y, pc.K - 1u));
  float a2 = MIX != 0u ? (1.0 - e) * (1.0 - lam) * class_weight(min(y2, pc.K - 1u)) : 0.0;
  float e_k = e / float(pc.K);
  float coef = a + a2 + e_k * uintBitsToFloat(label[pc.words + 1u]);
  float c = coef * log(s) - a * (z[base + y] - m) - a2 * (z[base + y2] - m) - e_k * wshifted;
  uint heavier = MIX != 0u && lam < 0.5 ? y2 : y;
  stats[2 * b] = c * loss_divisor() * inv_w;
  stats[2 * b + 1] = valid && arg == heavier ? 1.0 : 0.0;
  if (WRITE_GRAD == 0u) return;
  float inv_s = 1.0 / s;
  for (uint k = 0; k < pc.K; ++k) {
    float g = coef * exp(z[base + k] - m) * inv_s - e_k * class_weight(k);
    if (k == y) g -= a;
    if (k == y2) g -= a2;
    dz[base + k] = g * inv_w;
  }
}

void main() {
  uint b = gl_GlobalInvocationID.x;
  if (b >= pc.batch) return;
  // Padding rows (b >= P.rows) run the same three loops as valid rows and
  // write zeros: lanes of one SIMD group share lavapipe's loop budget, so a
  // separate zeroing loop for them would add K iterations to the group.
  bool valid = b < P.rows;
  uint base = b * pc.K;
  uint y = label[b];
  uint y2 = y;  // the partner's label (MIX)
  float lam = 1.0;
  if (MIX != 0u && label[pc.batch] != 0u && P.rows > 0u) {
    y2 = label[(b + label[pc.batch + 1u]) % P.rows];
    lam = uintBitsToFloat(label[pc.batch + 2u]);
  }
  float m = z[base];
  uint arg = 0;
  for (uint k = 1; k < pc.K; ++k) {
    float v = z[base + k];
    if (v > m) { m = v; arg = k; }
  }
  float s = 0.0;
  float shifted = 0.0;  // sum_k (z_k - m) <= 0; WEIGHTED: sum_k w_k (z_k - m)
  for (uint k = 0; k < pc.K; ++k) {
    float d = z[base + k] - m;
    s += exp(d);
    shifted += WEIGHTED != 0u ? class_weight(k) * d : d;
  }
  if (WEIGHTED != 0u) {
    weighted(b, valid, base, y, y2, lam, m, s, shifted, arg);
    return;
  }
  float e = pc.smoothing;
  float zy = z[base + y] - m;
  if (MIX != 0u) zy = lam * zy + (1.0 - lam) * (z[base + y2] - m);
  float loss = log(s) - (1.0 - e) * zy - e * (shifted / float(pc.K));
  uint heavier = MIX != 0u && lam < 0.5 ? y2 : y;
  stats[2 * b] = valid ? loss : 0.0;
  stats[2 * b + 1] = valid && arg == heavier ? 1.0 : 0.0;
  if (WRITE_GRAD != 0u) {
    float inv_s = 1.0 / s;
    float scale = valid ? 1.0 / loss_divisor() : 0.0;
    float q_other = e / float(pc.K);
    float q_label = (1.0 - e) + q_other;
    for (uint k = 0; k < pc.K; ++k) {
      float p = exp(z[base + k] - m) * inv_s;
      float q = k == y ? q_label : q_other;
      if (MIX != 0u) q = q_other + (1.0 - e) * ((k == y ? lam : 0.0) + (k == y2 ? 1.0 - lam : 0.0));
      dz[base + k] = (p - q) * scale;
    }
  }
}
