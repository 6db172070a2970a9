// Shared by the fractional max-pooling kernels (Graham, "Fractional
// max-pooling"): the push block (FractionalPush in
// src/ops/fractional_pool.cpp) and the region boundaries.
// x: [P, H, W] (P = N * C planes) -> y: [P, OH, OW]. Plane p's boundaries
// are regions[p * (OH + OW + 2) + ...]: a_0..a_OH for rows, then
// b_0..b_OW for columns, a_0 = 0, increments 1 or 2, a_OH = H (disjoint) or
// H - 1 (overlapping). Output (oh, ow) pools rows [a_oh, a_(oh+1)) and
// columns [b_ow, b_(ow+1)), or with overlapping the closed ranges
// [a_oh, a_(oh+1)] x [b_ow, b_(ow+1)]: at most 3 x 3 taps.
layout(push_constant) uniform Push {
  uint count;        // elements of the tensor this kernel writes
  uint H, W, OH, OW;
  uint overlapping;  // 1: closed regions (they share their boundary rows and columns)
  uint mode;         // regions: 0 pseudo-random at u = 1/2 (evaluation), 1 pseudo-random, 2 random
  uint stream;       // the layer's Philox stream
} pc;

uint row_bound(uint p, uint i) { return regions[p * (pc.OH + pc.OW + 2u) + i]; }
uint col_bound(uint p, uint j) { return regions[p * (pc.OH + pc.OW + 2u) + pc.OH + 1u + j]; }
