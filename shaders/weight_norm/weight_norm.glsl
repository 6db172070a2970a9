// Shared by the weight_norm kernels (src/ops/weight_norm.h). A weight is a
// row-major matrix W [rows, cols]; a row is read in units of 4 floats (vec4,
// 16-byte loads, ~4x cheaper than scalar loads on lavapipe) when VEC4 != 0
// (cols % 4 == 0), else of 1 float. Kernels bind each row-major tensor twice,
// as vec4[] and float[], and go through UNIT(), which returns a vec4 whose
// unused components are 0 in scalar mode (so sums of products need no mask).
//
// Row reductions: one 64-lane workgroup per (chunk c, row). Chunk c covers
// the row's units [c*64*iters, (c+1)*64*iters), iters <= 256 (16,384 units
// per chunk, far inside lavapipe's 65,535 loop iterations per SIMD group).
// Every lane loops exactly `iters` times, masking units past the row's end,
// so all lanes share one loop. Lanes sweep memory in blocks of WIDTH (the
// subgroup size): lavapipe runs a workgroup's subgroups one after the other,
// so each block streams through its own contiguous WIDTH*iters units rather
// than touching a fraction of every cache line. Lane sums are then added in
// a fixed tree order.
#include "common.glsl"

layout(constant_id = 0) const uint VEC4 = 0;
layout(constant_id = 1) const uint WIDTH = 64;
layout(local_size_x = 64) in;

#define UNIT(arr4, arr1, u) (VEC4 != 0u ? arr4[u] : vec4(arr1[u], 0.0, 0.0, 0.0))

// 1 for the components of a unit that hold values (scalar mode: x only).
vec4 unit_mask() { return VEC4 != 0u ? vec4(1.0) : vec4(1.0, 0.0, 0.0, 0.0); }

float hsum(vec4 a) { return (a.x + a.y) + (a.z + a.w); }

// The row of this workgroup: y, continued in z past 65,535 rows. Returns
// false for the surplus workgroups of the last z slice (whole workgroups
// leave, so barriers stay uniform).
bool workgroup_row(uint rows, out uint row) {
  row = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
  return row < rows;
}

// The first unit (within its row) this lane visits in chunk `chunk`; the
// lane then steps by WIDTH, `iters` times.
uint first_unit(uint chunk, uint iters) {
  const uint lane = gl_LocalInvocationID.x;
  return (chunk * 64u + lane / WIDTH * WIDTH) * iters + lane % WIDTH;
}

shared vec2 wn_lane_sums[64];

// The sum over the workgroup's 64 lanes in a fixed tree order, returned to
// every lane. Call from uniform control flow.
vec2 workgroup_sum(vec2 v) {
  const uint lane = gl_LocalInvocationID.x;
  wn_lane_sums[lane] = v;
  for (uint h = 32u; h > 0u; h >>= 1) {
    barrier();
    if (lane < h) wn_lane_sums[lane] += wn_lane_sums[lane + h];
  }
  barrier();
  const vec2 total = wn_lane_sums[0];
  barrier();  // every lane has read it before a later call overwrites it
  return total;
}
