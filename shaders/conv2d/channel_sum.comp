#version 450
// Per-channel sums of an NCHW tensor over batch and plane, split for
// lavapipe's loop budget: workgroup z sums the flattened positions
// t = b*plane + p in [z*chunk, (z+1)*chunk) of channel o and writes
// partial[z, o]; dense/split_reduce adds the partials in order. Used for the
// bias gradient db[o] = sum_{b,p} dy[b, o, p].
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };       // [B, C, plane]
layout(std430, set = 0, binding = 2) writeonly buffer Part { float part[]; };  // [splits, C]

layout(push_constant) uniform Push { uint channels, plane, total, chunk; } pc;  // total = B*plane

void main() {
  uint o = gl_GlobalInvocationID.x;
  if (o >= pc.channels) return;
  uint t0 = gl_WorkGroupID.z * pc.chunk;
  uint t1 = min(pc.total, t0 + pc.chunk);
  uint b = t0 / pc.plane;
  uint p = t0 - b * pc.plane;
  float s = 0.0;
  for (uint t = t0; t < t1; ++t) {
    s += dy[(b * pc.channels + o) * pc.plane + p];
    if (++p == pc.plane) { p = 0; ++b; }
  }
  part[gl_WorkGroupID.z * pc.channels + o] = s;
}
