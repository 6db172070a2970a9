// max_drop: Max-Drop (Park & Kwak, "Analysis on the dropout effect in
// convolutional neural networks"), for training: in each group of x: [N, C,
// H, W] (a feature map [n, c], or with across_channels a position [n, h, w]
// over its C channels) the units equal to the group's maximum are dropped
// (set to 0) with probability p each; every other unit passes unchanged, and
// nothing is rescaled. Unit e (flat index in x) draws
// philox_uniform(P.seed, stream, P.step, purpose 0, e) and is dropped when
// that is < p and x[e] equals its group's maximum; tied maxima draw each on
// their own. NaN is never a maximum. Evaluation is the identity (the layer
// records nothing). E[y] = x - p * max on the maximal units: Max-Drop does
// not preserve the expected value.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

struct MaxDropShape {
  uint32_t batch = 0, channels = 0, height = 0, width = 0;
  bool across_channels = false;  // groups are positions [n, h, w] (the paper's channel-wise form)
  uint64_t count() const { return uint64_t(batch) * channels * height * width; }
  uint64_t groups() const;  // N * C, or N * H * W across channels
};

// maxima: [groups] floats, written here (each group's maximum) and read by
// the backward. Groups longer than 4096 units are reduced in chunks into the
// program's scratch and the chunks' maxima reduced by a second dispatch
// (lavapipe's loop budget). Throws fovea::Error for an empty or too large
// tensor, p outside [0, 1] or views too small.
void record_max_drop_forward(Program& p, const MaxDropShape& s, float drop_p, uint32_t stream,
                             const View& x, const View& maxima, const View& y, const std::string& label);
// dx = dy where the forward kept the unit, 0 where it dropped it (the mask
// regenerated from x, maxima and the same key; P.step as in the forward).
void record_max_drop_backward(Program& p, const MaxDropShape& s, float drop_p, uint32_t stream,
                              const View& x, const View& maxima, const View& dy, const View& dx,
                              const std::string& label);

}  // namespace fovea::ops
