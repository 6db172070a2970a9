#version 450
// The gradient of a weight penalty on one tensor, added to its gradient:
//   g[o + i] += l1 sign(p[o + i]) + l2 p[o + i],   i < count,
// the derivative of l1 sum|p| + (l2 / 2) sum p^2 (sign(0) = 0, as torch.sign).
// p, g: the whole parameter and gradient blocks; o: the tensor's offset in
// floats. Binding the blocks and offsetting here, rather than binding a view
// per tensor, keeps packed tensors (gamma, beta at any 4-byte offset) legal
// under minStorageBufferOffsetAlignment.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Param { float p[]; };
layout(std430, set = 0, binding = 2) buffer Grad { float g[]; };

layout(push_constant) uniform Push {
  uint offset, count;
  float l1, l2;
} pc;

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) {
    float w = p[pc.offset + e];
    g[pc.offset + e] += pc.l1 * sign(w) + pc.l2 * w;
  }
}
