// Shared by the texel-path GEMMs (gemm_nt, gemm_nn, gemm_tn): C[M, N] =
// A·B (+ bias), with A and B read as rgba32f uniform texel buffers. On
// lavapipe a texel fetch compiles to one branch-free vector load where a
// storage-buffer load becomes a scalar loop over the lanes (docs/devices.md), so
// these reach several times the GFLOP/s of the portable gemm.comp. The host
// picks them only when every vectorised dimension and stride is a multiple of
// 4 and the views fit the device's texel-buffer limit; otherwise gemm.comp.
//
// Strides, batching and split-K as in gemm_common.glsl; every vectorised
// stride and batch offset is a multiple of 4.
#include "common.glsl"

layout(constant_id = 0) const uint RM = 4;   // register rows (or row vec4s) per lane
layout(constant_id = 1) const uint RN = 4;   // register columns (or column vec4s) per lane
layout(constant_id = 2) const uint WGX = 8;  // lanes along N
layout(constant_id = 3) const uint WGY = 8;  // lanes along M
layout(local_size_x_id = 2, local_size_y_id = 3) in;
// The store's form, fixed when the pipeline is built: lavapipe runs both
// sides of a branch under a lane mask, so a branch on a push constant costs
// its untaken side's per-lane stores and loads in every store.
layout(constant_id = 4) const uint BIAS = 0;    // 0 none (or partial), 1 bias[j], 2 bias[i]
layout(constant_id = 5) const uint STORE4 = 0;  // pc.vec4_store (nn and tn)

layout(std430, set = 0, binding = 1) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(std430, set = 0, binding = 2) writeonly buffer C4 { vec4 c4[]; };  // the same memory
layout(set = 0, binding = 5) uniform samplerBuffer A4;
layout(set = 0, binding = 6) uniform samplerBuffer B4;

#include "dense/gemm_common.glsl"

// The bias of C(r, col) under BIAS (bias_of() with the mode as a constant).
float bias_at(uint r, uint col) {
  return BIAS == 0u ? 0.0 : bias[pc.bias_off + (BIAS == 1u ? col : r)];
}

void store(uint r, uint col, float v) {
  if (r < pc.M && col < pc.N) c[c_index(r, col)] = v + bias_at(r, col);
}

// C(r, col..col+3), col a multiple of 4 and N a multiple of 4 (nn and tn):
// one 16-byte store where the host found the addresses aligned, since
// scalar stores cost per lane on lavapipe and bound short reductions.
void store4(uint r, uint col, vec4 v) {
  if (r >= pc.M || col >= pc.N) return;
  if (BIAS == 1u)
    v += vec4(bias_at(r, col), bias_at(r, col + 1u), bias_at(r, col + 2u), bias_at(r, col + 3u));
  else if (BIAS == 2u)
    v += bias_at(r, col);  // one load for the 4 columns
  uint i = c_index(r, col);
  if (STORE4 != 0u) {
    c4[i / 4u] = v;
  } else {
    c[i] = v.x;
    c[i + 1u] = v.y;
    c[i + 2u] = v.z;
    c[i + 3u] = v.w;
  }
}
