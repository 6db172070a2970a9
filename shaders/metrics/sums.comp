#version 450
// One workgroup adds this batch's per-row [loss, correct] into the running
// sums of the epoch: acc = [loss_sum, loss_compensation, correct, rows].
// Rows are summed in a fixed order (strided per lane, then a fixed tree), and
// the running loss uses Kahan summation, so the figure is deterministic and
// does not drift over an epoch of a few hundred batches.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Stats { float stats[]; };  // [B, 2]
layout(std430, set = 0, binding = 2) buffer Acc { float loss_sum; float loss_comp; uint correct; uint count; } acc;

shared float s_loss[64];
shared uint s_correct[64];

void main() {
  uint t = gl_LocalInvocationID.x;
  float loss = 0.0;
  uint correct = 0;
  // rows / 64 iterations per lane: within the loop budget for any batch the
  // model accepts (the batch is capped far below 64 * 65,535).
  for (uint r = t; r < P.rows; r += 64u) {
    loss += stats[2 * r];
    correct += uint(stats[2 * r + 1]);
  }
  s_loss[t] = loss;
  s_correct[t] = correct;
  barrier();
  for (uint w = 32u; w > 0u; w >>= 1) {
    if (t < w) {
      s_loss[t] += s_loss[t + w];
      s_correct[t] += s_correct[t + w];
    }
    barrier();
  }
  if (t == 0u) {
    float y = s_loss[0] - acc.loss_comp;
    float s = acc.loss_sum + y;
    acc.loss_comp = (s - acc.loss_sum) - y;
    acc.loss_sum = s;
    acc.correct += s_correct[0];
    acc.count += P.rows;
  }
}
