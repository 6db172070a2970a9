// Shared by the texel-path GEMMs (gemm_nt, gemm_nn, gemm_tn): C[M, N] =
// A·B (+ bias), with A and B read as rgba32f uniform texel buffers. On
// lavapipe a texel fetch compiles to one branch-free vector load where a
// storage-buffer load becomes a scalar loop over the lanes (DEVICES.md), so
// these reach several times the GFLOP/s of the portable gemm.comp. The host
// picks them only when every vectorised dimension and stride is a multiple of
// 4 and the views fit the device's texel-buffer limit; otherwise gemm.comp.
//
// Strides are in floats as in gemm.comp: A(i, k) = a[i*a_rs + k*a_ks],
// B(k, j) = b[k*b_ks + j*b_cs]; C row stride c_rs.
#include "common.glsl"

layout(constant_id = 0) const uint RM = 4;   // register rows (or row vec4s) per lane
layout(constant_id = 1) const uint RN = 4;   // register columns (or column vec4s) per lane
layout(constant_id = 2) const uint WGX = 8;  // lanes along N
layout(constant_id = 3) const uint WGY = 8;  // lanes along M
layout(local_size_x_id = 2, local_size_y_id = 3) in;

layout(std430, set = 0, binding = 1) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(set = 0, binding = 5) uniform samplerBuffer A4;
layout(set = 0, binding = 6) uniform samplerBuffer B4;

layout(push_constant) uniform Push {
  uint M, N, K;
  uint a_rs, a_ks, b_ks, b_cs;
  uint c_rs;
  uint has_bias;
  uint k_split;         // split-K as in gemm.comp; a multiple of 4
  uint c_split_stride;
} pc;

// This workgroup's k range (in k, not texels).
uint k_begin() { return gl_WorkGroupID.z * pc.k_split; }
uint k_end() { return min(pc.K, k_begin() + pc.k_split); }

void store(uint r, uint col, float v) {
  if (r < pc.M && col < pc.N)
    c[gl_WorkGroupID.z * pc.c_split_stride + r * pc.c_rs + col] =
        v + (pc.has_bias != 0u ? bias[col] : 0.0);
}
