#version 450
// y = f(x) element-wise over pc.count values, f the activation KIND
// (activation/kinds.glsl). Each lane maps 4 values with 16-byte loads and
// stores through a grid-stride loop; the last count % 4 values go through
// scalar aliases of the same bindings, one per lane of the first group.
#include "common.glsl"
#include "activation/kinds.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { vec4 x4[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { vec4 y4[]; };
layout(std430, set = 0, binding = 1) readonly buffer XTail { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer YTail { float y[]; };

void main() {
  uint n4 = pc.count / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < n4; e += stride) y4[e] = act_forward(x4[e]);
  uint tail = 4u * n4 + gl_GlobalInvocationID.x;
  if (tail < pc.count) y[tail] = act_forward(vec4(x[tail])).x;
}
