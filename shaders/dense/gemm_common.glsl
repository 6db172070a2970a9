// The push constants and index helpers every GEMM kernel shares (portable
// gemm.comp and the texel kernels). C[i, j] = sum_k A(i, k) * B(k, j), with
// A(i, k) = a[a_base + i*a_rs + k*a_ks], B(k, j) = b[b_base + k*b_ks + j*b_cs],
// a_base = a_off + batch*a_bs (likewise b); C and the bias start at c_off and
// bias_off (conv2d's groups are offsets into whole tensors: a sub-range
// binding would break the storage-buffer offset alignment).
//
// Workgroup z = batch * splits + split:
//  - batch: independent products at offsets bi*a_bs, bi*b_bs (conv2d runs one
//    per image);
//  - split (split-K): the workgroup reduces k in [split*k_split, +k_split),
//    at most 16,384 values, far inside lavapipe's loop budget.
// With partial = 0 (one split, outputs kept apart) C goes to c[bi*c_bs +
// i*c_rs + j] with the bias added; with partial = 1 every z writes a partial
// [M, N] block at c[z*M*N + i*N + j] and dense/split_reduce adds them up.
layout(push_constant) uniform Push {
  uint M, N, K;
  uint a_rs, a_ks, b_ks, b_cs;
  uint c_rs;
  uint bias_mode;  // 0 none, 1 bias[j] (per column), 2 bias[i] (per row)
  uint k_split, splits;
  uint a_bs, b_bs, c_bs;
  uint partial;
  uint a_off, b_off, c_off, bias_off;
  uint vec4_store;  // C addresses of 4 consecutive columns are 16-byte aligned (texel nn/tn)
} pc;

uint batch_index() { return gl_WorkGroupID.z / pc.splits; }
uint k_begin() { return (gl_WorkGroupID.z % pc.splits) * pc.k_split; }
uint k_end() { return min(pc.K, k_begin() + pc.k_split); }
uint a_base() { return pc.a_off + batch_index() * pc.a_bs; }
uint b_base() { return pc.b_off + batch_index() * pc.b_bs; }

// Output address of C(r, col) for this workgroup, and the bias to add there.
uint c_index(uint r, uint col) {
  return pc.partial != 0u ? gl_WorkGroupID.z * pc.M * pc.N + r * pc.N + col
                          : pc.c_off + batch_index() * pc.c_bs + r * pc.c_rs + col;
}
float bias_of(uint r, uint col) {
  if (pc.partial != 0u || pc.bias_mode == 0u) return 0.0;
  return bias[pc.bias_off + (pc.bias_mode == 1u ? col : r)];
}
