// Adoption: a host application creates its own instance, device and queue,
// hands them to Fovea, runs work through it, and still owns them after the
// Fovea context is gone.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gpu/harness.h"
#include "ops/activation.h"

using namespace fovea;

namespace {
int g_messages = 0;
VkBool32 VKAPI_PTR count_message(VkDebugUtilsMessageSeverityFlagBitsEXT, VkDebugUtilsMessageTypeFlagsEXT,
                                 const VkDebugUtilsMessengerCallbackDataEXT* d, void*) {
  ++g_messages;
  UNSCOPED_INFO("validation: " << d->pMessage);
  return VK_FALSE;
}

// What a host application makes before it hands Fovea its device: an
// instance with validation (synchronisation included) and a messenger that
// counts messages, its first physical device, and a device with one compute
// queue.
struct Host {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice pd = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  uint32_t family = 0, families = 0;
};

void create_instance(Host& h) {
  const bool validate = true;  // the host application enables validation, as every test does
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.apiVersion = VK_API_VERSION_1_1;
  const char* layer = "VK_LAYER_KHRONOS_validation";
  const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
  VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = &sync;
  VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pApplicationInfo = &app;
  if (validate) {
    ici.enabledLayerCount = 1;
    ici.ppEnabledLayerNames = &layer;
    ici.enabledExtensionCount = 1;
    ici.ppEnabledExtensionNames = &ext;
    ici.pNext = &features;
  }
  REQUIRE(vkCreateInstance(&ici, nullptr, &h.instance) == VK_SUCCESS);
  if (validate) {
    VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT;
    mci.pfnUserCallback = count_message;
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(h.instance, "vkCreateDebugUtilsMessengerEXT"));
    REQUIRE(create(h.instance, &mci, nullptr, &h.messenger) == VK_SUCCESS);
  }
}

void create_device(Host& h) {
  uint32_t n = 1;
  REQUIRE(vkEnumeratePhysicalDevices(h.instance, &n, &h.pd) >= 0);
  REQUIRE(n == 1);
  vkGetPhysicalDeviceQueueFamilyProperties(h.pd, &h.families, nullptr);
  std::vector<VkQueueFamilyProperties> qf(h.families);
  vkGetPhysicalDeviceQueueFamilyProperties(h.pd, &h.families, qf.data());
  while (h.family < h.families && !(qf[h.family].queueFlags & VK_QUEUE_COMPUTE_BIT)) ++h.family;
  REQUIRE(h.family < h.families);
  float prio = 1;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = h.family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &prio;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  REQUIRE(vkCreateDevice(h.pd, &dci, nullptr, &h.device) == VK_SUCCESS);
}

}  // namespace

TEST_CASE("a context adopts a caller's device and never destroys it", "[adopt]") {
  Host h;
  create_instance(h);
  create_device(h);
  VkInstance instance = h.instance;
  VkPhysicalDevice pd = h.pd;
  VkDevice device = h.device;
  const uint32_t family = h.family, nq = h.families;
  VkDebugUtilsMessengerEXT messenger = h.messenger;
  CHECK_THROWS(gpu::Context::adopt(instance, pd, device, nq + 3));
  {
    auto ctx = gpu::Context::adopt(instance, pd, device, family);
    CHECK(ctx->device() == device);
    gpu::Arena dev(*ctx, gpu::MemoryKind::Device, "adopted");
    gpu::Arena up(*ctx, gpu::MemoryKind::Upload, "adopted.upload");
    auto x = dev.reserve("x", 4 * 300), y = dev.reserve("y", 4 * 300);
    auto params = up.reserve("params", sizeof(nn::StepParams));
    dev.commit();
    up.commit();
    auto values = test::random_floats(300, 9);
    gpu::upload(*ctx, x, values.data(), 4 * 300);
    gpu::Program p(*ctx, "adopted");
    p.set_params(params);
    ops::record_relu_forward(p, 300, x, y, "relu");
    {
      gpu::Replayer r(p, 1);
      r.submit(r.acquire());
      r.finish();
    }
    std::vector<float> out(300);
    gpu::download(*ctx, y, out.data(), 4 * 300);
    for (size_t i = 0; i < out.size(); ++i) CHECK(out[i] == std::max(values[i], 0.0f));
  }
  // The context is gone; the device and its queue must still work.
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = 256;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  VkBuffer buf;
  CHECK(vkCreateBuffer(device, &bci, nullptr, &buf) == VK_SUCCESS);
  vkDestroyBuffer(device, buf, nullptr);
  VkQueue queue;
  vkGetDeviceQueue(device, family, 0, &queue);
  CHECK(vkQueueWaitIdle(queue) == VK_SUCCESS);
  CHECK(vkDeviceWaitIdle(device) == VK_SUCCESS);
  vkDestroyDevice(device, nullptr);
  if (messenger) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
    destroy(instance, messenger, nullptr);
  }
  vkDestroyInstance(instance, nullptr);
  CHECK(g_messages == 0);
}
