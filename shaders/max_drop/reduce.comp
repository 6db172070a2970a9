#version 450
// Group maxima, one chunk of members per workgroup row y:
//   out[y * groups + g] = max of in[base(g) + j * inner] over the members
//   j in [y * chunk, min(len, (y + 1) * chunk)),
//   base(g) = (g / inner) * len * inner + g % inner.
// Feature maps: inner = 1, len = H * W; positions across channels:
// inner = H * W, len = C; the chunk partials [chunks, groups] themselves:
// inner = groups, len = chunks (a second dispatch). A value replaces the
// running maximum (from -inf) only when greater, so NaN never wins.
// At most `chunk` iterations per group (the host keeps it in lavapipe's budget).
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer In { float src[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Out { float dst[]; };

layout(push_constant) uniform Push {
  uint groups, len, inner, chunk;
} pc;

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  uint first = gl_WorkGroupID.y * pc.chunk;
  uint members = min(pc.len - first, pc.chunk);
  for (uint g = gl_GlobalInvocationID.x; g < pc.groups; g += stride) {
    uint at = (g / pc.inner) * pc.len * pc.inner + g % pc.inner + first * pc.inner;
    float m = -1.0 / 0.0;
    for (uint j = 0u; j < members; ++j, at += pc.inner) {
      float v = src[at];
      m = v > m ? v : m;
    }
    dst[gl_WorkGroupID.y * pc.groups + g] = m;
  }
}
