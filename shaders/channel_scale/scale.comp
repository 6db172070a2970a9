#version 450
// dst[r, p] = src[r, p] * s[r] over rows r = b * C + c of `plane` values:
// squeeze-excitation's channel gating (src = x) and its input gradient
// (src = dy). VEC4 = 1 when the plane is a multiple of 4: count and plane
// then count vec4s, and a vec4 never straddles two rows. Grid-stride, one
// value (or vec4) per lane per iteration: at most 2^32 / (64 * 65535) < 1,025
// iterations.
#include "common.glsl"
layout(constant_id = 0) const uint VEC4 = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Src { float src[]; };   // [R, plane]
layout(std430, set = 0, binding = 1) readonly buffer Src4 { vec4 src4[]; };
layout(std430, set = 0, binding = 2) readonly buffer S { float s[]; };       // [R]
layout(std430, set = 0, binding = 3) writeonly buffer Dst { float dst[]; };  // [R, plane]
layout(std430, set = 0, binding = 3) writeonly buffer Dst4 { vec4 dst4[]; };

layout(push_constant) uniform Push { uint count, plane; } pc;

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) {
    float g = s[e / pc.plane];
    if (VEC4 != 0u)
      dst4[e] = src4[e] * g;
    else
      dst[e] = src[e] * g;
  }
}
