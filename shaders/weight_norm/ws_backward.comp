#version 450
// Weight standardization, backward: per row o, with g = dL/dW_hat[o, :],
//   dW[o, :] = invstd (g - mean(g) - W_hat mean(g W_hat))
//            = invstd/F (F g - sum g - W_hat sum(g W_hat)).
// FUSED 1 (rows of one chunk): workgroup o computes both means itself and
//   reads invstd = S[rows + o] (S = saved [2, rows]).
// FUSED 0 (after ws_reduce and ws_finalize): S = coef [3, rows] holds
//   mean(g), mean(g W_hat), invstd; workgroup (c, o) writes chunk c of row o.
#include "weight_norm/weight_norm.glsl"
layout(constant_id = 2) const uint FUSED = 1;

layout(std430, set = 0, binding = 1) readonly buffer WHat { vec4 wh4[]; };  // [rows, cols]
layout(std430, set = 0, binding = 1) readonly buffer WHat1 { float wh1[]; };
layout(std430, set = 0, binding = 2) readonly buffer G { vec4 g4[]; };      // [rows, cols]
layout(std430, set = 0, binding = 2) readonly buffer G1 { float g1[]; };
layout(std430, set = 0, binding = 3) readonly buffer S { float stats[]; };
layout(std430, set = 0, binding = 4) writeonly buffer DW { vec4 dw4[]; };   // [rows, cols]
layout(std430, set = 0, binding = 4) writeonly buffer DW1 { float dw1[]; };

layout(push_constant) uniform Push { uint rows, cols, units, iters; } pc;

void main() {
  uint row;
  if (!workgroup_row(pc.rows, row)) return;
  const uint base = row * pc.units;
  const uint chunk = FUSED != 0u ? 0u : gl_WorkGroupID.x;
  float mean_g, mean_gw, invstd;
  if (FUSED != 0u) {
    const vec4 mask = unit_mask();
    vec4 sa = vec4(0.0), sb = vec4(0.0);
    uint j = first_unit(0u, pc.iters);
    for (uint t = 0u; t < pc.iters; ++t, j += WIDTH) {
      const bool valid = j < pc.units;
      const uint at = base + (valid ? j : 0u);
      const vec4 g = UNIT(g4, g1, at) * (valid ? mask : vec4(0.0));
      sa += g;
      sb += g * UNIT(wh4, wh1, at);
    }
    const vec2 s = workgroup_sum(vec2(hsum(sa), hsum(sb)));
    mean_g = s.x / float(pc.cols);
    mean_gw = s.y / float(pc.cols);
    invstd = stats[pc.rows + row];
  } else {
    mean_g = stats[row];
    mean_gw = stats[pc.rows + row];
    invstd = stats[2u * pc.rows + row];
  }
  uint j = first_unit(chunk, pc.iters);
  for (uint t = 0u; t < pc.iters; ++t, j += WIDTH) {
    if (j < pc.units) {
      if (VEC4 != 0u)
        dw4[base + j] = invstd * (g4[base + j] - mean_g - wh4[base + j] * mean_gw);
      else
        dw1[base + j] = invstd * (g1[base + j] - mean_g - wh1[base + j] * mean_gw);
    }
  }
}
