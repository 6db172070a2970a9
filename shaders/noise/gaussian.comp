#version 450
// x += N(0, noise_std^2) / std[c]: Gaussian noise of std P.noise_std in
// [0, 1] pixel units, added to standardised inputs (the same as adding it
// to the pixels before standardisation; nothing is clipped). The noise of
// value i of image m (m = P.first_image + row) depends only on (seed, m, i),
// so a test set gets the same corruption whatever the batch size. Rows past
// P.rows are left alone; noise_std = 0 returns at once.
#include "common.glsl"
#include "noise.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) buffer X { float x[]; };
layout(std430, set = 0, binding = 2) readonly buffer Stats { float mean_std[]; }; // [mean C][1/std C]

layout(push_constant) uniform Push {
  uint features;  // D = C * H * W
  uint plane;     // H * W
  uint channels;
  uint seed;
  uint row0;      // the batch row of x's first row (a window of a larger batch)
  uint rows;      // rows of x in this dispatch
} pc;

void main() {
  if (!(P.noise_std > 0.0)) return;
  uint limit = min(P.rows > pc.row0 ? P.rows - pc.row0 : 0u, pc.rows) * pc.features;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < limit; e += stride) {
    uint row = e / pc.features, i = e - row * pc.features;
    float z = normal_sample(pc.seed, P.first_image + pc.row0 + row, i);
    x[e] += P.noise_std * mean_std[pc.channels + i / pc.plane] * z;
  }
}
