#version 450
// Spectral normalisation, backward (u, v constants, as PyTorch's no_grad
// power iteration): dW[o, j] = dW_sn[o, j] / sigma - (sum(dW_sn W) / sigma^2) u[o] v[j]
// with coef = [1/sigma, sum(dW_sn W)/sigma^2] from sn_coef. Workgroup (c, o)
// writes chunk c of row o; v sits at unit v_off of uv (16-byte aligned).
#include "weight_norm/weight_norm.glsl"

layout(std430, set = 0, binding = 1) readonly buffer G { vec4 g4[]; };  // dW_sn [rows, cols]
layout(std430, set = 0, binding = 1) readonly buffer G1 { float g1[]; };
layout(std430, set = 0, binding = 2) readonly buffer UV { vec4 uv4[]; };
layout(std430, set = 0, binding = 2) readonly buffer UV1 { float uv1[]; };
layout(std430, set = 0, binding = 3) readonly buffer Coef { float coef[]; };  // [2]
layout(std430, set = 0, binding = 4) writeonly buffer DW { vec4 dw4[]; };  // [rows, cols]
layout(std430, set = 0, binding = 4) writeonly buffer DW1 { float dw1[]; };

layout(push_constant) uniform Push { uint rows, units, iters, v_off; } pc;

void main() {
  uint row;
  if (!workgroup_row(pc.rows, row)) return;
  const uint base = row * pc.units;
  const float inv_sigma = coef[0];
  const float cu = coef[1] * uv1[row];
  uint j = first_unit(gl_WorkGroupID.x, pc.iters);
  for (uint t = 0u; t < pc.iters; ++t, j += WIDTH) {
    if (j < pc.units) {
      if (VEC4 != 0u) dw4[base + j] = g4[base + j] * inv_sigma - cu * uv4[pc.v_off + j];
      else dw1[base + j] = g1[base + j] * inv_sigma - cu * uv1[pc.v_off + j];
    }
  }
}
