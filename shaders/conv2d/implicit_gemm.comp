#version 450
// conv2d's forward pass and input gradient as one implicit GEMM, gathered
// straight from the input tensor with no column matrix:
//   out[b, m, p] (+ bias[m]) = sum over taps t = (i, j), then over the
//     channels k of m's group, of w(m, k, t) * in[b, k, src_h(p, i), src_w(p, j)]
// with, per axis, n = out_coord * mul + off + i * step and src = n / div
// when n >= 0, div divides n and src < the input size (else the tap adds 0):
//   forward:        in = x,  out = y,  mul = S, off = -P, step = D,  div = 1
//   input gradient: in = dy, out = dx, mul = 1, off = P,  step = -D, div = S
// w(m, k, t) = w[g*og*cg*KK + m*w_ms + k*w_ks + t] for m, k within group g.
//
// Workgroup (x, y, z) = (block of WG*RP output positions, group and block of
// RC output channels, image). Each lane owns RC channels (the same for every
// lane, so their weights are lane-uniform loads) times RP positions WG apart.
// in and w are read through r32f uniform texel buffers: on lavapipe a texel
// fetch is a branch-free vector load where a storage-buffer load is a scalar
// loop over the lanes (docs/devices.md). The host picks this kernel only when both
// fit the device's texel-buffer limit and K = channels per group * KH*KW
// stays inside one split of lavapipe's loop budget.
//
// Every (RC, RP, WG) adds each output's terms in the same order (t outer, k
// inner, bias last), so the variants give bit-identical results.
#include "common.glsl"
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_basic : require

layout(constant_id = 0) const uint RC = 8;   // output channels per lane, a multiple of 8
layout(constant_id = 1) const uint RP = 4;   // output positions per lane
layout(constant_id = 2) const uint WG = 64;  // lanes per workgroup
layout(local_size_x_id = 2) in;
// 1 when div_h or div_w is not 1 (strided input gradients). A constant, not
// a push-constant test: lavapipe runs both sides of a branch under a lane
// mask, so the emulated divisions would cost every tap anyway.
layout(constant_id = 3) const uint DIVIDE = 1;
// 1 when bias_on (the same reason: no masked per-lane bias load otherwise).
layout(constant_id = 4) const uint BIAS = 1;

layout(std430, set = 0, binding = 1) readonly buffer Bias { float bias[]; };  // [MC] when used
layout(std430, set = 0, binding = 2) writeonly buffer Out { float outv[]; };  // [B, MC, MH, MW]
layout(set = 0, binding = 5) uniform samplerBuffer In;  // [B, IC, IH, IW], r32f
layout(set = 0, binding = 6) uniform samplerBuffer Wt;  // r32f

layout(push_constant) uniform Push {
  uint IC, IH, IW;  // the gathered tensor
  uint MC, MH, MW;  // the output
  uint KH, KW;
  uint mul_h, mul_w;
  int off_h, off_w, step_h, step_w;
  uint div_h, div_w;
  uint groups, w_ms, w_ks;
  uint bias_on;
} pc;

void main() {
  uint b = gl_WorkGroupID.z;
  uint kg = pc.IC / pc.groups, mg = pc.MC / pc.groups;
  uint mblocks = (mg + RC - 1u) / RC;
  uint g = gl_WorkGroupID.y / mblocks;
  uint m0 = (gl_WorkGroupID.y - g * mblocks) * RC;  // first output channel within the group
  uint plane_in = pc.IH * pc.IW, plane_out = pc.MH * pc.MW, kk = pc.KH * pc.KW;
  uint p0 = gl_WorkGroupID.x * (WG * RP) + gl_LocalInvocationID.x;

  int nh[RP], nw[RP];  // numerators at tap 0
  for (uint r = 0; r < RP; ++r) {
    uint p = min(p0 + r * WG, plane_out - 1u);
    uint oh = p / pc.MW;
    nh[r] = int(oh * pc.mul_h) + pc.off_h;
    nw[r] = int((p - oh * pc.MW) * pc.mul_w) + pc.off_w;
  }
  int in0 = int((b * pc.IC + g * kg) * plane_in);
  int wk = int(pc.w_ks), pk = int(plane_in);
  int wmine[RC / 8u];
  for (uint q = 0; q < RC / 8u; ++q)
    wmine[q] = int(g * mg * kg * kk + min(m0 + 8u * q + gl_SubgroupInvocationID % 8u, mg - 1u) * pc.w_ms);

  float acc[RC][RP];
  for (uint u = 0; u < RC; ++u)
    for (uint r = 0; r < RP; ++r) acc[u][r] = 0.0;

  int i = 0, j = 0;  // tap t = i*KW + j
  for (uint t = 0; t < kk; ++t) {
    int off[RP];
    bool ok[RP];
    // Integer division is emulated lane by lane on CPUs: skip it where
    // div = 1 (the forward pass, and stride-1 input gradients).
    const bool divide = DIVIDE != 0u;
    for (uint r = 0; r < RP; ++r) {
      int ny = nh[r] + i * pc.step_h, nx = nw[r] + j * pc.step_w;
      int sy = ny, sx = nx;
      bool exact = true;
      if (divide) {
        sy = max(ny, 0) / int(pc.div_h);
        sx = max(nx, 0) / int(pc.div_w);
        exact = sy * int(pc.div_h) == ny && sx * int(pc.div_w) == nx;
      }
      ok[r] = ny >= 0 && nx >= 0 && exact && sy < int(pc.IH) && sx < int(pc.IW);
      off[r] = in0 + (ok[r] ? sy * int(pc.IW) + sx : 0);
    }
    for (int k = 0; k < int(kg); ++k) {
      float v[RP];
      for (uint r = 0; r < RP; ++r) {
        float x = texelFetch(In, off[r] + k * pk).x;  // unconditional: a select, not a branch
        v[r] = ok[r] ? x : 0.0;
      }
      // RC/8 loads per lane (lane l: channels m0 + 8q + l%8), then each
      // lane-uniform weight broadcast by a constant-index shuffle.
      float wl[RC / 8u];
      for (uint q = 0; q < RC / 8u; ++q) wl[q] = texelFetch(Wt, wmine[q] + k * wk + int(t)).x;
      for (uint u = 0; u < RC; ++u) {
        float wv = subgroupShuffle(wl[u / 8u], u % 8u);
        for (uint r = 0; r < RP; ++r) acc[u][r] += wv * v[r];
      }
    }
    if (++j == int(pc.KW)) j = 0, ++i;
  }
  for (uint u = 0; u < RC; ++u) {
    if (m0 + u >= mg) break;
    uint m = g * mg + m0 + u;
    float bm = BIAS != 0u ? bias[m] : 0.0;
    uint base = (b * pc.MC + m) * plane_out;
    for (uint r = 0; r < RP; ++r)
      if (p0 + r * WG < plane_out) outv[base + p0 + r * WG] = acc[u][r] + bm;
  }
}
