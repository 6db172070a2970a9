#include "gpu/features.h"

#include <algorithm>
#include <cstring>

namespace fovea::gpu {

static bool has(const std::vector<VkExtensionProperties>& ext, const char* name) {
  return std::any_of(ext.begin(), ext.end(), [&](const VkExtensionProperties& e) {
    return std::strcmp(e.extensionName, name) == 0;
  });
}

bool query_coop_matrix_f16(VkInstance instance, VkPhysicalDevice pd,
                           const std::vector<VkExtensionProperties>& ext, bool shader_float16) {
  if (!instance || !shader_float16 || !has(ext, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) ||
      !has(ext, VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME) ||
      !has(ext, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME))
    return false;
  VkPhysicalDeviceVulkanMemoryModelFeatures mm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesNV cf{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &cf;
  cf.pNext = &mm;
  vkGetPhysicalDeviceFeatures2(pd, &f2);
  VkPhysicalDeviceCooperativeMatrixPropertiesNV cp{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_NV};
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  p2.pNext = &cp;
  vkGetPhysicalDeviceProperties2(pd, &p2);
  if (!cf.cooperativeMatrix || !mm.vulkanMemoryModel ||
      !(cp.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT))
    return false;
  auto get = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
      vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
  uint32_t n = 0;
  if (!get || get(pd, &n, nullptr) != VK_SUCCESS) return false;
  std::vector<VkCooperativeMatrixPropertiesNV> configs(n, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
  if (get(pd, &n, configs.data()) != VK_SUCCESS) return false;
  configs.resize(n);
  return std::any_of(configs.begin(), configs.end(), [](const VkCooperativeMatrixPropertiesNV& c) {
    return c.MSize == 16 && c.NSize == 16 && c.KSize == 16 && c.AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
           c.BType == VK_COMPONENT_TYPE_FLOAT16_NV && c.CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
           c.DType == VK_COMPONENT_TYPE_FLOAT32_NV && c.scope == VK_SCOPE_SUBGROUP_NV;
  });
}

EnabledFeatures::EnabledFeatures(const DeviceInfo& d, bool coop) {
  f2_.pNext = &s16_;
  s16_.storageBuffer16BitAccess = d.storage_16bit ? VK_TRUE : VK_FALSE;  // core in 1.1
  if (!coop) return;
  s16_.pNext = &f16_;
  f16_.pNext = &mm_;
  mm_.pNext = &cm_;
  f16_.shaderFloat16 = VK_TRUE;
  mm_.vulkanMemoryModel = VK_TRUE;
  cm_.cooperativeMatrix = VK_TRUE;
  extensions_ = {VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME, VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME,
                 VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME};
}

}  // namespace fovea::gpu
