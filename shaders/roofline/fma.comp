#version 450
// The roofline's arithmetic peak probe: each lane runs four independent vec4
// chains v <- v * a + b for `iterations` steps (32 FLOPs per step, counted as
// a multiply and an add per component), started from x[i] + {0..15} / 16,
// and writes y[i] = the sum of the 16 components. Little memory traffic, so
// its time is the device's arithmetic rate. iterations <= FOVEA_MAX_ITERATIONS
// (src/ops/roofline.cpp checks it).
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push { uint count, iterations; float a, b; } pc;

void main() {
  uint i = gl_GlobalInvocationID.x;
  float x0 = i < pc.count ? x[i] : 0.0;
  vec4 v0 = x0 + vec4(0, 1, 2, 3) / 16.0, v1 = x0 + vec4(4, 5, 6, 7) / 16.0;
  vec4 v2 = x0 + vec4(8, 9, 10, 11) / 16.0, v3 = x0 + vec4(12, 13, 14, 15) / 16.0;
  for (uint k = 0u; k < pc.iterations; ++k) {
    v0 = v0 * pc.a + pc.b;
    v1 = v1 * pc.a + pc.b;
    v2 = v2 * pc.a + pc.b;
    v3 = v3 * pc.a + pc.b;
  }
  if (i < pc.count) y[i] = dot(v0 + v1 + v2 + v3, vec4(1.0));
}
