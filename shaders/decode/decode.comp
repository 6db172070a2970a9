#version 450
// x[b, i] = (u8[b, i] / 255 - mean[c]) / std[c], c = channel of feature i
// (features are [C, H, W] flattened). Rows b >= P.rows (padding of a partial
// batch) are written as 0 so every later op sees finite, deterministic values.
// Each lane decodes one packed word (4 pixels) into one 16-byte store; the
// last count % 4 values go through a scalar alias of the output binding.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Images { uint bytes[]; };   // u8 x4 per word
layout(std430, set = 0, binding = 2) readonly buffer Stats { float mean_std[]; }; // [mean C][1/std C]
layout(std430, set = 0, binding = 3) writeonly buffer X4 { vec4 x4[]; };         // [B, D]
layout(std430, set = 0, binding = 3) writeonly buffer X1 { float x[]; };

layout(push_constant) uniform Push {
  uint count;     // B * D
  uint features;  // D = C * H * W
  uint plane;     // H * W
  uint channels;  // C
  uint row0;      // the batch row of this dispatch's first row (a window of a larger batch)
} pc;

// Position of element e: row b, channel c, offset ip inside the channel's
// plane. Integer division is slow on CPU SIMD, so it is done once per word.
struct Pos { uint b, c, ip; };
Pos locate(uint e) {
  Pos p;
  p.b = e / pc.features;
  uint i = e - p.b * pc.features;
  p.c = i / pc.plane;
  p.ip = i - p.c * pc.plane;
  return p;
}
float value(Pos p, uint byte_val) {
  float v = (float(byte_val) * (1.0 / 255.0) - mean_std[p.c]) * mean_std[pc.channels + p.c];
  return p.b + pc.row0 < P.rows ? v : 0.0;
}
Pos next(Pos p) {
  if (++p.ip == pc.plane) {
    p.ip = 0;
    if (++p.c == pc.channels) { p.c = 0; ++p.b; }
  }
  return p;
}

void main() {
  uint n4 = pc.count / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint w = gl_GlobalInvocationID.x; w < n4; w += stride) {
    uint word = bytes[w];
    Pos p0 = locate(4u * w);
    Pos p1 = next(p0), p2 = next(p1), p3 = next(p2);
    x4[w] = vec4(value(p0, word & 0xffu), value(p1, (word >> 8) & 0xffu),
                 value(p2, (word >> 16) & 0xffu), value(p3, word >> 24));
  }
  if (gl_GlobalInvocationID.x == 0u)
    for (uint e = 4u * n4; e < pc.count; ++e)
      x[e] = value(locate(e), (bytes[e >> 2] >> (8u * (e & 3u))) & 0xffu);
}
