// channel_shuffle: ShuffleNet's channel shuffle (torch.nn.ChannelShuffle) on
// [batch, C, plane] tensors, and its gradient. With g groups of n = C / g
// channels, x is read as [batch, g, n, plane], the two channel axes are
// transposed and the result flattened back:
//   y[b, i g + j, p] = x[b, j n + i, p]      (i < n, j < g)
// A permutation of channels: the backward is the inverse permutation, which
// is the shuffle with n groups. One gather kernel serves both
// (shaders/channel_shuffle/shuffle.comp).
#pragma once
#include "ops/common.h"

namespace fovea::ops {

struct ChannelShuffleShape {
  uint32_t batch = 0, channels = 0, plane = 0;  // plane = H * W
  uint32_t groups = 1;                          // divides channels
};

// y = shuffle(x). x and y must not overlap. Throws fovea::Error naming
// `label` when groups does not divide channels, a size is 0, the tensor
// holds 2^32 values or more, or a view is too small.
void record_channel_shuffle_forward(Program& p, const ChannelShuffleShape& s, const View& x,
                                    const View& y, const std::string& label);
// dx = shuffle^-1(dy): dx[b, j n + i, p] = dy[b, i g + j, p].
void record_channel_shuffle_backward(Program& p, const ChannelShuffleShape& s, const View& dy,
                                     const View& dx, const std::string& label);

}  // namespace fovea::ops
