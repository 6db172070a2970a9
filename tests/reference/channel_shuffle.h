// channel_shuffle reference: torch.nn.ChannelShuffle from its definition
// (view as [batch, groups, C / groups, plane], swap the two channel axes,
// flatten), and its gradient as the scatter back through the same map.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

// x: [batch, channels, plane] -> y of the same shape.
Tensor channel_shuffle(const Tensor& x, uint32_t batch, uint32_t channels, uint32_t plane,
                       uint32_t groups);
// dL/dx from dL/dy: each dy value sent back to the x position it came from.
Tensor channel_shuffle_backward(const Tensor& dy, uint32_t batch, uint32_t channels,
                                uint32_t plane, uint32_t groups);

}  // namespace fovea::ref
