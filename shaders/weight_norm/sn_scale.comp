#version 450
// Spectral normalisation: W_sn = W / sigma over `count` floats. Lanes take 4
// values with 16-byte loads; the last count % 4 go through scalar aliases.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer W { vec4 w4[]; };
layout(std430, set = 0, binding = 1) readonly buffer W1 { float w1[]; };
layout(std430, set = 0, binding = 2) readonly buffer Sigma { float sigma[]; };  // [1]
layout(std430, set = 0, binding = 3) writeonly buffer WSn { vec4 wsn4[]; };
layout(std430, set = 0, binding = 3) writeonly buffer WSn1 { float wsn1[]; };

layout(push_constant) uniform Push { uint count; } pc;

void main() {
  const float sig = sigma[0];
  const uint n4 = pc.count / 4u;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < n4; e += stride) wsn4[e] = w4[e] / sig;
  if (gl_GlobalInvocationID.x == 0u)
    for (uint e = 4u * n4; e < pc.count; ++e) wsn1[e] = w1[e] / sig;
}
