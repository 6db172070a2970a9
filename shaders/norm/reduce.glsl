// Partial sums over one group of a normalisation layer; one workgroup per
// (group r, chunk k), written to partial[(r*k_total + k0 + k)*3 + {0, 1, 2}]
// (k_total = chunks, k0 = 0 unless windowed, below):
//   MODE 0 (statistics): A = sum (x - s),  B = sum (x - s)^2
//   MODE 1 (gradients):  A = sum w,        B = sum w (x - s),   w = dy [* gamma]
// and s itself, over the group's valid elements. s = x at the group's first
// element: shifting by a sample of the data keeps B/n - (A/n)^2 free of the
// cancellation that plain sums of x^2 suffer when |mean| >> std; the
// finalize kernels undo the shift.
// Group r covers the units j in [0, segments*L) at
//   r*L + (j / L)*seg_stride + j % L
// (BatchNorm: L = H*W, seg_stride = C*H*W, segments = batch, so channel r of
// every row; the per-sample norms: one contiguous segment, segments = 1).
// Valid units: BatchNorm j < P.rows*L (padding rows never enter the sums);
// the others all of the group if its sample r / per_sample < P.rows, else none.
// A window of rows of a larger batch (views over the storage range) counts
// its rows from row0, writes its chunks at k0 of k_total per group, and with
// shift_bound takes s from the batch's first row, bound at binding 3, so
// every window's partials share the shift the finalize kernels assume.
// Chunk k is units [k*iters*64, (k+1)*iters*64): every lane loops exactly
// `iters` (<= 256) times with invalid units masked, so lanes share one loop
// and stay far inside lavapipe's loop budget; the 64 lane sums are added in a
// fixed tree order. Each block of WIDTH lanes (the device's subgroup size, a
// power of 2 <= 64) sweeps its own contiguous WIDTH*iters units, WIDTH
// consecutive units per step: one contiguous access per step on a GPU, and
// on lavapipe, which runs a workgroup's subgroups one after the other, each
// subgroup streams through contiguous memory (interleaving all 64 lanes had
// each subgroup read 128 of every 1,024 bytes per pass: ~3x slower there).
layout(constant_id = 0) const uint MODE = 0;
layout(constant_id = 1) const uint GAMMA = 0;  // MODE 1: w = dy * gamma[j % L] (LayerNorm)
layout(constant_id = 2) const uint WIDTH = 64;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { T x[]; };
layout(std430, set = 0, binding = 1) readonly buffer XScalar { float x1[]; };
layout(std430, set = 0, binding = 2) readonly buffer DY { T dy[]; };
layout(std430, set = 0, binding = 3) readonly buffer Gamma { T gamma[]; };
layout(std430, set = 0, binding = 3) readonly buffer ShiftRow { float shift_row[]; };
layout(std430, set = 0, binding = 4) writeonly buffer Partial { float part[]; };

layout(push_constant) uniform Push {
  uint L, seg_stride, segments, per_sample, iters, chunks, groups;
  uint row0, k0, k_total, shift_bound;
} pc;

shared vec2 lane_sums[64];

void main() {
  const uint wg = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (wg >= pc.groups * pc.chunks) return;  // the whole workgroup leaves
  const uint r = wg / pc.chunks, k = wg % pc.chunks;
  const uint lane = gl_LocalInvocationID.x;
  const uint base = r * pc.L;
  const uint rows = P.rows > pc.row0 ? P.rows - pc.row0 : 0u;
  const uint valid_len = pc.per_sample == 0u ? min(rows, pc.segments) * pc.L
                                             : (r / pc.per_sample < rows ? pc.L : 0u);
  const float s = pc.shift_bound != 0u ? shift_row[base * VEC] : x1[base * VEC];
  uint j = (k * 64u + lane / WIDTH * WIDTH) * pc.iters + lane % WIDTH;
  uint seg = j / pc.L, pos = j % pc.L;
  const uint dseg = WIDTH / pc.L, dpos = WIDTH % pc.L;
  T a = T(0.0), b = T(0.0);
  for (uint t = 0; t < pc.iters; ++t) {
    const bool valid = j < valid_len;
    const uint off = valid ? base + seg * pc.seg_stride + pos : base;
    const T v = x[off] - s;
    if (MODE == 0u) {
      const T d = valid ? v : T(0.0);
      a += d;
      b += d * d;
    } else {
      T w = dy[off];
      if (GAMMA != 0u) w *= gamma[valid ? pos : 0u];
      w = valid ? w : T(0.0);
      a += w;
      b += w * v;
    }
    j += WIDTH;
    pos += dpos;
    seg += dseg;
    const bool wrap = pos >= pc.L;
    pos -= wrap ? pc.L : 0u;
    seg += wrap ? 1u : 0u;
  }
#ifdef FOVEA_SUBGROUP_REDUCE
  // Fast path: each subgroup adds its lanes (subgroupAdd), then lane 0 adds
  // the subgroup sums in subgroup order. Any subgroup size works; the order
  // of the additions, so the rounding, follows it (docs/portability.md).
  const vec2 sg = subgroupAdd(vec2(hsum(a), hsum(b)));
  if (subgroupElect()) lane_sums[gl_SubgroupID] = sg;
  barrier();
  if (lane == 0u)
    for (uint i = 1u; i < gl_NumSubgroups; ++i) lane_sums[0] += lane_sums[i];
#else
  lane_sums[lane] = vec2(hsum(a), hsum(b));
  for (uint h = 32u; h > 0u; h >>= 1) {
    barrier();
    if (lane < h) lane_sums[lane] += lane_sums[lane + h];
  }
#endif
  if (lane == 0u) {
    const uint at = (r * pc.k_total + pc.k0 + k) * 3u;
    part[at] = lane_sums[0].x;
    part[at + 1u] = lane_sums[0].y;
    part[at + 2u] = s;
  }
}
