// tensor: layout plumbing of the model graph: element-wise add and copy,
// and the channel concatenation with its gradient.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

// y = a + b over `count` values.
void record_add(Program& p, uint64_t count, const View& a, const View& b, const View& y,
                const std::string& label);
// y = a over `count` values.
void record_copy(Program& p, uint64_t count, const View& a, const View& y,
                 const std::string& label);

// y[e stride] = beta a[e stride] + alpha b[e stride] for e < count (y may
// be a or b: each value is read and written by one invocation). beta = 0
// still reads a (0 x a NaN is NaN).
void record_axpy(Program& p, uint64_t count, uint32_t stride, float beta, const View& a, float alpha,
                 const View& b, const View& y, const std::string& label);

// x: [batch, cx, plane] placed into y: [batch, cy, plane] at channel offset
// `offset` (forward of concat), or taken back out of y (its gradient).
struct ChannelSlice {
  uint32_t batch = 0, cx = 0, cy = 0, plane = 0, offset = 0;
};
void record_channel_copy_into(Program& p, const ChannelSlice& s, const View& x, const View& y,
                              const std::string& label);
void record_channel_copy_from(Program& p, const ChannelSlice& s, const View& y, const View& x,
                              const std::string& label);

}  // namespace fovea::ops
