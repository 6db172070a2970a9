// Compute kernels: a pipeline built from embedded SPIR-V plus specialisation
// constants (ids 0..n-1, 32-bit each: tile sizes, flags). Every kernel shares
// one descriptor layout:
//   set 0, binding 0      uniform buffer: the per-step parameter block (opaque bytes)
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

// Binding 0 of every kernel: the program's parameter block, a uniform
// buffer of opaque bytes that the host writes into the ring slot of each
// step (its layout belongs to whoever builds the programs: nn::StepParams).
// At most this many bytes.
constexpr uint32_t kMaxParamBytes = 256;

}  // namespace fovea::gpu
