// What every op family shares: the recorder types and dispatch geometry.
// Ops never call Vulkan: they check shapes, pick a kernel and append
// dispatches (with the ranges they read and write) to a Program.
#pragma once
#include <cstdint>
#include <string>

#include "gpu/recorder.h"

namespace fovea::ops {

using gpu::Program;
using gpu::View;

// Workgroups for a grid-stride kernel of 64 lanes over `count` elements,
// capped at the Vulkan 1.1 minimum maxComputeWorkGroupCount (65,535); each
// lane then loops count / (65535 * 64) times at most.
uint32_t stride_groups(uint64_t count);

uint32_t ceil_div(uint64_t a, uint64_t b);

// A batch of images or feature maps, [batch, C, H, W] row-major.
struct BatchShape {
  uint32_t batch = 0;
  uint32_t channels = 0, height = 0, width = 0;
  uint64_t features() const { return uint64_t(channels) * height * width; }
  uint64_t count() const { return uint64_t(batch) * features(); }
};

// Throws fovea::Error when `v` holds fewer than `floats` 32-bit values.
void require_floats(const View& v, uint64_t floats, const std::string& what);

}  // namespace fovea::ops
