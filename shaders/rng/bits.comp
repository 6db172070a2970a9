#version 450
// out[4 i + j] = word j of philox4x32((ctr.x + i, ctr.y, ctr.z, ctr.w), key)
// for i < blocks: raw generator output, for tests and for filling buffers
// with reproducible random bits.
#include "common.glsl"
#include "philox.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) writeonly buffer Out { uvec4 words[]; };

layout(push_constant) uniform Push {
  uvec4 ctr;
  uvec2 key;
  uint blocks;
} pc;

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < pc.blocks; i += stride)
    words[i] = philox4x32(uvec4(pc.ctr.x + i, pc.ctr.yzw), pc.key);
}
