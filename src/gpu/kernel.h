// Compute kernels: a pipeline built from embedded SPIR-V plus specialisation
// constants (ids 0..n-1, 32-bit each: tile sizes, flags). Every kernel shares
// one descriptor layout:
//   set 0, binding 0      uniform buffer: the per-step parameters (StepParams)
//   set 0, bindings 1..4  storage buffers (the Vulkan 1.1 minimum is 4)
//   set 0, bindings 5..6  uniform texel buffers, rgba32f (optional fast path)
// and 128 bytes of push constants for static shapes, recorded once.
#pragma once
#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gpu/context.h"

namespace fovea::gpu {

constexpr uint32_t kMaxStorageBindings = 4;
// Bindings 5..6: uniform texel buffers (rgba32f views) for kernels that read
// through the texture path, which lavapipe turns into vector loads.
constexpr uint32_t kFirstTexelBinding = 5;
constexpr uint32_t kMaxTexelBindings = 2;
constexpr uint32_t kPushConstantBytes = 128;

// The embedded SPIR-V for "family/stem" (shaders/family/stem.comp); empty
// when there is none. Defined in the generated registry.
std::span<const uint32_t> embedded_spirv(std::string_view name);

struct Kernel {
  std::string name;  // "dense/gemm" or with spec constants "dense/gemm<8,4>"
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
};

struct Context::KernelTable {
  explicit KernelTable(Context& ctx);
  ~KernelTable();
  // Built on first use, then reused; throws fovea::Error for an unknown
  // shader name.
  const Kernel& get(std::string_view shader, std::span<const uint32_t> spec = {});

  Context& ctx;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  std::map<std::string, Kernel> kernels;
  std::mutex mutex;  // guards kernels
};

// The uniform block every kernel sees at binding 0 (std140, 64 bytes). The
// host writes one per step into the slot of that step; kernels must not
// depend on fields they do not use.
struct StepParams {
  float lr = 0;             // learning rate of this step
  uint32_t step = 0;        // global step index, from 0
  uint32_t rows = 0;        // valid rows in this batch (<= recorded batch size)
  uint32_t seed = 0;        // run seed
  uint32_t slot = 0;        // upload-ring slot of this step
  float blur_sigma = 0;     // Gaussian blur of the input images, pixels (0 = none)
  float feature_sigma = 0;  // 3x3 Gaussian on the feature maps after each conv (0 = none)
  float noise_std = 0;      // Gaussian noise on the inputs, [0, 1] pixel units (evaluation)
  uint32_t first_image = 0; // index of the batch's first image in its pass (noise keys)
  // Rows a mean loss divides by (0: rows). A data-parallel rank's batch is
  // its shard of the global batch: this is the global batch's valid rows.
  uint32_t loss_rows = 0;
  // A data-parallel rank's first row in the global batch, and the rows it
  // records (its shard's size); 0, 0 with one process. Random layers and
  // augmentation key their per-row draws by the global row (global_index()
  // in common.glsl), so any number of ranks draws the same numbers.
  uint32_t first_row = 0;
  uint32_t shard_rows = 0;
  // The optimizer's per-step scalars (bias corrections, NAdam's momentum
  // schedule), computed on the host in double: ops::OptimCoefficients. A
  // vec4 in std140, so it starts at byte 48.
  float optim[4] = {0, 0, 0, 0};
};
static_assert(sizeof(StepParams) == 64);
static_assert(offsetof(StepParams, optim) == 48);

}  // namespace fovea::gpu
