#version 450
// Pruning with a fixed mask: for each listed index i of the parameter
// block, params[i] = 0 and state[a * stride + i] = 0 for every optimizer
// state array a < arrays (src/ops/prune.h). Indices >= params are skipped.
// Grid-stride over the list: at most 2^32 / (64 * 65535) < 1,025
// iterations per lane, each with at most `arrays` (<= 3) inner ones.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Indices { uint index[]; };
layout(std430, set = 0, binding = 2) buffer Params { float params[]; };
layout(std430, set = 0, binding = 3) buffer State { float state[]; };

layout(push_constant) uniform Push { uint count, params, arrays, stride; } pc;

void main() {
  uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint j = gl_GlobalInvocationID.x; j < pc.count; j += step) {
    uint i = index[j];
    if (i >= pc.params) continue;
    params[i] = 0.0;
    for (uint a = 0u; a < pc.arrays; ++a) state[a * pc.stride + i] = 0.0;
  }
}
