// Optional device features the fast kernels use: the cooperative-matrix
// configuration the coopmat GEMM needs, and the feature chain that enables
// what the device model found (16-bit storage for conv2d's fp16 columns;
// VK_NV_cooperative_matrix with fp16 arithmetic and the Vulkan memory model
// for shaders/dense/gemm_coopmat*.comp). Internal to src/gpu.
#pragma once
#include <vulkan/vulkan.h>

#include <vector>

#include "gpu/context.h"

namespace fovea::gpu {

// True when the device lists VK_NV_cooperative_matrix in compute shaders with
// fp16 A and B, fp32 C and D, M = N = K = 16 at subgroup scope, and the
// extensions and features the kernel's SPIR-V declares (Float16,
// VulkanMemoryModel), each available as an extension (Fovea's instance asks
// for Vulkan 1.1, so promoted features are enabled through their extensions).
bool query_coop_matrix_f16(VkInstance instance, VkPhysicalDevice pd,
                           const std::vector<VkExtensionProperties>& ext, bool shader_float16);

// The pNext chain and extensions for vkCreateDevice: 16-bit storage when the
// model has it, cooperative matrix when `coop` (the model's coop_matrix_f16).
class EnabledFeatures {
 public:
  EnabledFeatures(const DeviceInfo& d, bool coop);
  EnabledFeatures(const EnabledFeatures&) = delete;
  EnabledFeatures& operator=(const EnabledFeatures&) = delete;
  const void* chain() const { return &f2_; }
  const std::vector<const char*>& extensions() const { return extensions_; }

 private:
  VkPhysicalDeviceFeatures2 f2_{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDevice16BitStorageFeatures s16_{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features f16_{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDeviceVulkanMemoryModelFeatures mm_{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesNV cm_{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  std::vector<const char*> extensions_;
};

}  // namespace fovea::gpu
