// The cooperative-matrix GEMM (VK_NV_cooperative_matrix): the bindings, push
// constants, batching and split-K of dense/gemm_common.glsl. A workgroup of
// 128 invocations = 4 subgroups of 32 (the host selects this kernel only
// where the subgroup size is 32) owns a 32x32 block of C, one 16x16 tile per
// subgroup. For each 16-long step of k every lane converts 4 values of A's
// 32x16 slice and 4 of B's 16x32 slice to fp16 into shared memory (zeros
// outside M, N and the split's k range, so no shape needs to be a multiple
// of 16); each subgroup then multiplies its tiles with fp32 accumulation.
// The 16x16 results go through shared memory to the lanes, which add the
// bias and store fp32. Loops: at most k_split / 16 = 1,024 steps.
// The including kernel declares binding 2 and load_b(index) -> float16_t.
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#include "common.glsl"

layout(local_size_x = 128) in;

layout(std430, set = 0, binding = 1) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 3) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 4) writeonly buffer C { float c[]; };

#include "dense/gemm_common.glsl"

float16_t load_b(uint index);

shared float16_t tile_a[32 * 16];  // [row][k], row-major
shared float16_t tile_b[16 * 32];  // [k][column], row-major
shared float tile_c[4 * 256];      // one 16x16 result per subgroup

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.y * 32u, col0 = gl_WorkGroupID.x * 32u;
  // Which 16x16 tile this subgroup owns (uniform across the subgroup).
  const uint ty = gl_SubgroupID / 2u, tx = gl_SubgroupID % 2u;
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
  const uint k0 = k_begin(), k1 = k_end();
  for (uint k = k0; k < k1; k += 16u) {
    for (uint e = lane; e < 512u; e += 128u) {
      const uint r = e / 16u, ka = k + e % 16u;  // A: 32 rows x 16 k
      const bool in_a = row0 + r < pc.M && ka < k1;
      tile_a[e] = in_a ? float16_t(a[a_base() + (row0 + r) * pc.a_rs + ka * pc.a_ks]) : float16_t(0.0);
      const uint kb = k + e / 32u, cb = e % 32u;  // B: 16 k x 32 columns
      const bool in_b = col0 + cb < pc.N && kb < k1;
      tile_b[e] = in_b ? load_b(b_base() + kb * pc.b_ks + (col0 + cb) * pc.b_cs) : float16_t(0.0);
    }
    barrier();
    fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> ma, mb;
    coopMatLoadNV(ma, tile_a, ty * 256u, 16u, false);
    coopMatLoadNV(mb, tile_b, tx * 16u, 32u, false);
    acc = coopMatMulAddNV(ma, mb, acc);
    barrier();
  }
  coopMatStoreNV(acc, tile_c, gl_SubgroupID * 256u, 16u, false);
  barrier();
  for (uint e = lane; e < 1024u; e += 128u) {
    const uint t = e / 256u, r = row0 + (t / 2u) * 16u + (e % 256u) / 16u;
    const uint col = col0 + (t % 2u) * 16u + e % 16u;
    if (r < pc.M && col < pc.N) c[c_index(r, col)] = tile_c[e] + bias_of(r, col);
  }
}
