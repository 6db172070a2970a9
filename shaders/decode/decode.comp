#version 450
// x[b, i] = (u8[b, i] / 255 - mean[c]) / std[c], c = channel of feature i
// (features are [C, H, W] flattened). Rows b >= P.rows (padding of a partial
// batch) are written as 0 so every later op sees finite, deterministic values.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Images { uint bytes[]; };   // u8 x4 per word
layout(std430, set = 0, binding = 2) readonly buffer Stats { float mean_std[]; }; // [mean C][1/std C]
layout(std430, set = 0, binding = 3) writeonly buffer X { float x[]; };          // [B, D]

layout(push_constant) uniform Push {
  uint count;     // B * D
  uint features;  // D = C * H * W
  uint plane;     // H * W
  uint channels;  // C
} pc;

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) {
    uint b = e / pc.features;
    uint c = (e % pc.features) / pc.plane;
    uint byte_val = (bytes[e >> 2] >> (8u * (e & 3u))) & 0xffu;
    float v = (float(byte_val) * (1.0 / 255.0) - mean_std[c]) * mean_std[pc.channels + c];
    x[e] = b < P.rows ? v : 0.0;
  }
}
