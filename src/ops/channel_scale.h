// channel_scale: the gating step of squeeze-excitation, one scale per
// (row, channel) applied to a whole plane, and its two gradients:
//   y[b, c, p]  = x[b, c, p] s[b, c]
//   dx[b, c, p] = dy[b, c, p] s[b, c]
//   ds[b, c]    = sum over p of dy[b, c, p] x[b, c, p]
// The plane sum runs in chunks of kScaleChunk values per invocation; longer
// planes write per-chunk partials to the program's scratch and
// dense/split_reduce adds them in chunk order (lavapipe's loop budget).
#pragma once
#include "ops/common.h"

namespace fovea::ops {

constexpr uint32_t kScaleChunk = 4096;

struct ChannelScaleShape {
  uint32_t batch = 0, channels = 0, plane = 0;  // x: [batch, channels, plane]; s: [batch, channels]
};

// y = x s. y may not overlap x or s. Throws fovea::Error naming `label` for a
// size of 0, 2^32 values or more, or a view too small.
void record_channel_scale_forward(Program& p, const ChannelScaleShape& sh, const View& x, const View& s,
                                  const View& y, const std::string& label);
// dx = dy s and ds = the plane sums of dy x (either output may be an invalid
// View{} to skip it).
void record_channel_scale_backward(Program& p, const ChannelScaleShape& sh, const View& x, const View& s,
                                   const View& dy, const View& dx, const View& ds, const std::string& label);

}  // namespace fovea::ops
