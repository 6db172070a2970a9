#version 450
// Pass 1 of the global gradient norm (torch.nn.utils.clip_grad_norm_):
// workgroup w writes partial[w] = sum of g[e]^2 over its chunk
// e in [w CHUNK, (w + 1) CHUNK) of g: [count]. Lane l takes e = w CHUNK + l,
// + 64, ... (CHUNK / 64 iterations, far inside lavapipe's 65,535 cap), then
// the 64 lane sums meet in a fixed tree: the result never depends on timing.
#include "common.glsl"
layout(local_size_x = 64) in;

const uint CHUNK = 16384u;  // ops::kClipChunk

layout(std430, set = 0, binding = 1) readonly buffer Grad { float g[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Partial { float partial[]; };

layout(push_constant) uniform Push { uint count; } pc;

shared float s[64];

void main() {
  uint l = gl_LocalInvocationID.x;
  uint base = gl_WorkGroupID.x * CHUNK;
  uint end = min(base + CHUNK, pc.count);
  float acc = 0.0;
  for (uint e = base + l; e < end; e += 64u) acc += g[e] * g[e];
  s[l] = acc;
  barrier();
  for (uint h = 32u; h > 0u; h >>= 1u) {
    if (l < h) s[l] += s[l + h];
    barrier();
  }
  if (l == 0u) partial[gl_WorkGroupID.x] = s[0];
}
