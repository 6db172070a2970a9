#version 450
// y[b, o, p] += bias[o] for every p of the output plane: the bias of the
// transposed convolution. It cannot ride on the GEMM (whose output, dcols,
// col2im sums over a varying number of taps per output position, none at
// all in the output_padding rows) nor on conv2d/col2im (no bias binding), so
// it is this in-place pass after col2im.
// Dispatch: x over the plane in VEC-value steps (VEC = 4 when plane % 4 == 0:
// 16-byte access, which lavapipe runs ~4x cheaper than scalar), y over the
// channels, z over the batch; no loop.
#include "common.glsl"
layout(constant_id = 0) const uint VEC = 1;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Bias { float bias[]; };  // [O]
layout(std430, set = 0, binding = 2) buffer Y4 { vec4 y4[]; };                // [B, O, plane]
layout(std430, set = 0, binding = 2) buffer Y1 { float y[]; };

layout(push_constant) uniform Push { uint channels, plane; } pc;

void main() {
  uint e = gl_GlobalInvocationID.x;
  if (e * VEC >= pc.plane) return;
  uint o = gl_WorkGroupID.y;
  uint base = (gl_WorkGroupID.z * pc.channels + o) * pc.plane;
  float v = bias[o];
  if (VEC == 4u)
    y4[base / 4u + e] += v;
  else
    y[base + e] += v;
}
