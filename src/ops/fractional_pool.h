// fractional_pool: fractional max pooling (Graham, "Fractional
// max-pooling") on x: [N, C, H, W] -> y: [N, C, OH, OW] with a reduction
// ratio alpha = H / OH (and W / OW) in (1, 2]. Each plane (n, c) has its
// own regions, drawn afresh each step from Philox like PyTorch's per-plane
// samples: boundaries a_0 = 0 < a_1 < ... < a_OH with increments 1 and 2,
// a_OH = H (disjoint regions [a_(i-1), a_i)) or H - 1 (overlapping regions
// [a_(i-1), a_i], sharing their boundary rows); columns likewise.
// shaders/fractional_pool/regions.comp states the pseudo-random and random
// sequences and their keys exactly. Evaluation uses the pseudo-random
// sequence at u = 1/2 for every plane: deterministic, the same in both modes.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

struct FractionalPoolShape {
  uint32_t batch = 0, channels = 0, height = 0, width = 0;
  uint32_t out_h = 0, out_w = 0;
  bool overlapping = false;
  uint64_t planes() const { return uint64_t(batch) * channels; }
  uint64_t region_words() const { return planes() * (out_h + out_w + 2); }  // u32 boundaries
};

enum class FractionalRegions : uint32_t { Evaluation = 0, PseudoRandom = 1, Random = 2 };

// Writes the boundaries (regions: region_words() u32, kept for the
// backward), then y and argmax (u32, like maxpool2d's: ih * W + iw within
// the plane; ties keep the first tap in row-major order, NaN wins). Throws
// fovea::Error for an empty tensor, a side over 4096, a ratio H / OH or
// W / OW outside (1, 2], 2^31 elements or more, or views too small.
void record_fractional_maxpool_forward(Program& p, const FractionalPoolShape& s, FractionalRegions mode,
                                       uint32_t stream, const View& x, const View& regions, const View& y,
                                       const View& argmax, const std::string& label);
// dx[n, c, h, w] = sum of dy over the regions whose argmax is (h, w), in
// increasing (oh, ow) order; every element of dx written.
void record_fractional_maxpool_backward(Program& p, const FractionalPoolShape& s, const View& regions,
                                        const View& argmax, const View& dy, const View& dx,
                                        const std::string& label);

}  // namespace fovea::ops
