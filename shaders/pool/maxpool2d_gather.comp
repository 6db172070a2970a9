#version 450
// Max pooling with a given argmax (the sharpness probe's frozen pattern, see
// src/nn/layers.h):
//   y[p, oh, ow] = x[p, arg[p, oh, ow]]   (arg = ih * W + iw within plane p)
// linear in x; its adjoint is pool/maxpool2d_backward with the same argmax.
// One output per iteration of a grid-stride loop (the host sizes the grid
// for about 4 per lane, inside lavapipe's loop budget).
#include "common.glsl"
#include "rng/philox.glsl"
#include "pool/pool2d.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };    // [P, H, W]
layout(std430, set = 0, binding = 2) readonly buffer Arg { uint arg[]; };  // [P, OH, OW]
layout(std430, set = 0, binding = 3) writeonly buffer Y { float y[]; };    // [P, OH, OW]

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < pc.count; e += stride) {
    Cursor k = locate(e, pc.OH, pc.OW);
    y[e] = x[k.p * pc.H * pc.W + arg[e]];
  }
}
