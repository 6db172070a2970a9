#version 450
// dL/dx[r, i] = dy[r] / L for x: [R, L]. Each lane writes 4 consecutive
// values with one 16-byte store (the last count % 4 through a scalar alias
// of the same binding). For L >= 4 the four values span at most rows r and
// r + 1; for L < 4 each value finds its row by division.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };     // [R]
layout(std430, set = 0, binding = 2) writeonly buffer DX4 { vec4 dx4[]; };  // [R, L]
layout(std430, set = 0, binding = 2) writeonly buffer DX { float dx[]; };

layout(push_constant) uniform Push { uint count, rows, plane; } pc;

float grad(uint e) { return dy[e / pc.plane] / float(pc.plane); }

void main() {
  uint n4 = pc.count / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint q = gl_GlobalInvocationID.x; q < n4; q += stride) {
    uint e = 4u * q;
    vec4 v;
    if (pc.plane >= 4u) {
      uint r = e / pc.plane;
      uint i = e - r * pc.plane;
      float g0 = dy[r] / float(pc.plane), g1 = g0;
      // Only runs that cross into row r + 1 (which exists: e + 3 < count)
      // load it; the load is per lane on lavapipe, so skipping it pays.
      if (i + 3u >= pc.plane) g1 = dy[r + 1u] / float(pc.plane);
      v = vec4(g0, i + 1u < pc.plane ? g0 : g1, i + 2u < pc.plane ? g0 : g1, g1);
    } else {
      v = vec4(grad(e), grad(e + 1u), grad(e + 2u), grad(e + 3u));
    }
    dx4[q] = v;
  }
  if (gl_GlobalInvocationID.x == 0u)
    for (uint e = 4u * n4; e < pc.count; ++e) dx[e] = grad(e);
}
