#version 450
// Partial row sums for rows longer than one chunk: workgroup (c, o) sums
// chunk c of row o and writes part[(o*chunks + c)*2 + {0, 1}]:
//   BACKWARD 0 (forward statistics), a = W:  A = sum (a - K), B = sum (a - K)^2,
//              K = a[o, 0] (the shift of ws_forward.comp)
//   BACKWARD 1 (gradients), a = W_hat, g = dW_hat:  A = sum g,  B = sum g a
// weight_norm/ws_finalize adds the chunks in order. Spectral normalisation's
// backward uses BACKWARD 1 on the flattened weight (rows = 1): B = sum dW_sn W.
#include "weight_norm/weight_norm.glsl"
layout(constant_id = 2) const uint BACKWARD = 0;

layout(std430, set = 0, binding = 1) readonly buffer A { vec4 a4[]; };  // [rows, cols]
layout(std430, set = 0, binding = 1) readonly buffer A1 { float a1[]; };
layout(std430, set = 0, binding = 2) readonly buffer G { vec4 g4[]; };  // [rows, cols] (BACKWARD 1)
layout(std430, set = 0, binding = 2) readonly buffer G1 { float g1[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Part { float part[]; };  // [rows, chunks, 2]

layout(push_constant) uniform Push { uint rows, cols, units, iters, chunks; } pc;

void main() {
  uint row;
  if (!workgroup_row(pc.rows, row)) return;
  const uint chunk = gl_WorkGroupID.x;
  const uint base = row * pc.units;
  const float K = BACKWARD == 0u ? a1[row * pc.cols] : 0.0;
  const vec4 mask = unit_mask();
  vec4 sa = vec4(0.0), sb = vec4(0.0);
  uint j = first_unit(chunk, pc.iters);
  for (uint t = 0u; t < pc.iters; ++t, j += WIDTH) {
    const bool valid = j < pc.units;
    const uint at = base + (valid ? j : 0u);
    const vec4 m = valid ? mask : vec4(0.0);
    if (BACKWARD == 0u) {
      const vec4 d = (UNIT(a4, a1, at) - K) * m;
      sa += d;
      sb += d * d;
    } else {
      const vec4 g = UNIT(g4, g1, at) * m;
      sa += g;
      sb += g * UNIT(a4, a1, at);
    }
  }
  const vec2 s = workgroup_sum(vec2(hsum(sa), hsum(sb)));
  if (gl_LocalInvocationID.x == 0u) {
    part[(row * pc.chunks + chunk) * 2u] = s.x;
    part[(row * pc.chunks + chunk) * 2u + 1u] = s.y;
  }
}
