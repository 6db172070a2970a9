#version 450
// Counts the iterations a lane really runs of a loop asked to run n times
// (one loop, or n / inner outer iterations of an inner loop of `inner`).
// The loop body is a linear congruential step, so no compiler folds it away.
layout(local_size_x = 64) in;
layout(push_constant) uniform P { uint n; uint inner; } p;
layout(std430, binding = 0) buffer Out { uint v[]; } o;
void main() {
  uint c = gl_GlobalInvocationID.x, steps = 0u;
  if (p.inner == 0u) {
    for (uint i = 0u; i < p.n; ++i) { c = c * 1664525u + 1013904223u; steps++; }
  } else {
    for (uint j = 0u; j < p.n / p.inner; ++j)
      for (uint i = 0u; i < p.inner; ++i) { c = c * 1664525u + 1013904223u; steps++; }
  }
  o.v[gl_GlobalInvocationID.x] = steps + (c & 0u);
}
