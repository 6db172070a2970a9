#version 450
// Element-wise losses with a float target t of the prediction's shape
// [B, F], PyTorch's mean reduction over the P.rows valid rows and all F
// features (N = loss_divisor() * F, common.glsl: P.rows unless data-parallel):
//   KIND 0, MSELoss:           l = (y - t)^2,  dL/dy = 2 (y - t) / N
//   KIND 1, BCEWithLogitsLoss: l = max(z, 0) - z t + log(1 + exp(-|z|)),
//                              dL/dz = (sigmoid(z) - t) / N
// Each invocation takes one row's slice of features [s * chunk, (s + 1) *
// chunk) with s = gl_WorkGroupID.y, so no invocation loops more than chunk
// (<= 16384) times. With one slice it writes the row's stats [loss, correct]
// directly: loss = sum_f l / F (so the metric sums' mean over rows is
// PyTorch's loss), correct = 0 for MSE, and for BCE 1 when every feature's
// prediction z > 0 agrees with t > 0.5 (exact match; binary accuracy when
// F = 1). With several slices it writes partials [B, slices, 2] = [sum of l,
// disagreements] for loss/row_reduce. Padding rows run the same loop and get
// loss 0, correct 0 and gradient 0.
// LABELS = 1 (a classifier trained with MSE or BCE against one-hot labels):
// binding 2 holds u32 labels [B] instead of targets, t[b, f] = [f ==
// label[b]], there is one slice (F = the classes <= chunk), and correct = 1
// when the row's first maximum is at its label (argmax accuracy, as for
// softmax_xent).
#include "common.glsl"
#include "activation/math.glsl"
layout(constant_id = 0) const uint KIND = 0;
layout(constant_id = 1) const uint WRITE_GRAD = 1;
layout(constant_id = 2) const uint LABELS = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Y { float y[]; };      // [B, F]
layout(std430, set = 0, binding = 2) readonly buffer T { float t[]; };      // [B, F]
layout(std430, set = 0, binding = 2) readonly buffer L { uint label[]; };   // [B] (LABELS)
layout(std430, set = 0, binding = 3) writeonly buffer DY { float dy[]; };   // [B, F]
layout(std430, set = 0, binding = 4) writeonly buffer Out { float o[]; };   // [B, slices, 2]

layout(push_constant) uniform Push { uint batch, F, chunk, slices; } pc;

void main() {
  uint b = gl_GlobalInvocationID.x;
  if (b >= pc.batch) return;
  bool valid = b < P.rows;
  float scale = valid ? 1.0 / (loss_divisor() * float(pc.F)) : 0.0;
  uint slice = gl_WorkGroupID.y;
  // Every lane of the group has the same slice, hence the same trip count.
  uint first = b * pc.F + slice * pc.chunk;
  uint end = b * pc.F + min(pc.F, (slice + 1u) * pc.chunk);
  // Kahan summation of the row's losses; precise keeps the compensation
  // from being simplified away.
  precise float sum = 0.0;
  precise float comp = 0.0;
  float wrong = 0.0;
  uint y_label = LABELS != 0u ? label[b] : 0u;
  float best = y[first];
  uint arg = 0u;
  for (uint i = first; i < end; ++i) {
    float yv = y[i];
    float tv = LABELS != 0u ? (i - first == y_label ? 1.0 : 0.0) : t[i];
    if (LABELS != 0u && yv > best) {
      best = yv;
      arg = i - first;
    }
    float l, g;
    if (KIND == 0u) {
      float d = yv - tv;
      l = d * d;
      g = 2.0 * d;
    } else {
      l = max(yv, 0.0) - yv * tv + fv_log1p_unit(vec4(exp(-abs(yv)))).x;
      g = fv_sigmoid(vec4(yv)).x - tv;
      if (LABELS == 0u) wrong += (yv > 0.0) != (tv > 0.5) ? 1.0 : 0.0;
    }
    precise float ly = l - comp;
    precise float s2 = sum + ly;
    comp = (s2 - sum) - ly;
    sum = s2;
    if (WRITE_GRAD != 0u) dy[i] = g * scale;
  }
  if (pc.slices == 1u) {
    o[2u * b] = valid ? sum / float(pc.F) : 0.0;
    bool right = LABELS != 0u ? arg == y_label : KIND == 1u && wrong == 0.0;
    o[2u * b + 1u] = valid && right ? 1.0 : 0.0;
  } else {
    uint at = 2u * (b * pc.slices + slice);
    o[at] = valid ? sum : 0.0;
    o[at + 1u] = valid ? wrong : 0.0;
  }
}
