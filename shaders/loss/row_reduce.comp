#version 450
// Finishes loss/pointwise when a row's features were split into slices:
// per row b, loss = (sum over slices, in slice order, of the partial loss
// sums) / F and correct = 1 for BCE (KIND 1) when no slice found a
// disagreement. Padding rows get [0, 0]. One invocation per row loops over
// the slices (<= 16384 of them, checked on the host).
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Part { float part[]; };    // [B, slices, 2]
layout(std430, set = 0, binding = 2) writeonly buffer Stats { float stats[]; }; // [B, 2]

layout(push_constant) uniform Push { uint batch, F, slices, kind; } pc;

void main() {
  uint b = gl_GlobalInvocationID.x;
  if (b >= pc.batch) return;
  bool valid = b < P.rows;
  float loss = 0.0, wrong = 0.0;
  uint at = 2u * b * pc.slices;
  for (uint s = 0; s < pc.slices; ++s, at += 2u) {
    loss += part[at];
    wrong += part[at + 1u];
  }
  stats[2u * b] = valid ? loss / float(pc.F) : 0.0;
  stats[2u * b + 1u] = valid && pc.kind == 1u && wrong == 0.0 ? 1.0 : 0.0;
}
