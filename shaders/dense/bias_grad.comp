#version 450
// db[j] = sum_b dy[b, j] over all rows (padding rows carry dy = 0), summed in
// row order so the result is deterministic.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };  // [B, N]
layout(std430, set = 0, binding = 2) writeonly buffer DB { float db[]; }; // [N]

layout(push_constant) uniform Push { uint rows, N; } pc;

void main() {
  uint j = gl_GlobalInvocationID.x;
  if (j >= pc.N) return;
  float s = 0.0;
  for (uint r0 = 0; r0 < pc.rows; r0 += FOVEA_CHUNK) {
    uint r1 = min(pc.rows, r0 + FOVEA_CHUNK);
    for (uint r = r0; r < r1; ++r) s += dy[r * pc.N + j];
  }
  db[j] = s;
}
