// The embedding examples' host side (engine.h).
#include "engine.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace embed {

namespace {

int g_messages = 0;  // validation messages seen by our messenger

VkBool32 VKAPI_PTR on_message(VkDebugUtilsMessageSeverityFlagBitsEXT, VkDebugUtilsMessageTypeFlagsEXT,
                              const VkDebugUtilsMessengerCallbackDataEXT* d, void*) {
  ++g_messages;
  std::fprintf(stderr, "validation: %s\n", d->pMessage);
  return VK_FALSE;
}

}  // namespace

int validation_messages() { return g_messages; }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "fovea_embed: %s\n", what.c_str());
  std::exit(1);
}

void vk(VkResult r, const char* what) {
  if (r != VK_SUCCESS) die(std::string(what) + " failed (VkResult " + std::to_string(int(r)) + ")");
}

Engine create_engine() {
  Engine e;
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "fovea_embed";
  app.apiVersion = VK_API_VERSION_1_1;
  const char* layer = "VK_LAYER_KHRONOS_validation";
  const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
  VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = &sync;
  VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pNext = &features;
  ici.pApplicationInfo = &app;
  ici.enabledLayerCount = 1;
  ici.ppEnabledLayerNames = &layer;
  ici.enabledExtensionCount = 1;
  ici.ppEnabledExtensionNames = &ext;
  vk(vkCreateInstance(&ici, nullptr, &e.instance), "vkCreateInstance (with the validation layer)");
  VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT;
  mci.pfnUserCallback = on_message;
  auto create_messenger = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
      vkGetInstanceProcAddr(e.instance, "vkCreateDebugUtilsMessengerEXT"));
  vk(create_messenger(e.instance, &mci, nullptr, &e.messenger), "vkCreateDebugUtilsMessengerEXT");

  uint32_t n = 1;
  VkResult r = vkEnumeratePhysicalDevices(e.instance, &n, &e.physical);
  if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || n == 0) die("no Vulkan device");
  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(e.physical, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(e.physical, &nq, qf.data());
  while (e.family < nq && !(qf[e.family].queueFlags & VK_QUEUE_COMPUTE_BIT)) ++e.family;
  if (e.family == nq) die("the device has no compute queue");
  const float priority = 1;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = e.family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  vk(vkCreateDevice(e.physical, &dci, nullptr, &e.device), "vkCreateDevice");
  vkGetDeviceQueue(e.device, e.family, 0, &e.queue);
  return e;
}

void destroy_engine(Engine& e) {
  vkDestroyDevice(e.device, nullptr);
  auto destroy_messenger = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
      vkGetInstanceProcAddr(e.instance, "vkDestroyDebugUtilsMessengerEXT"));
  destroy_messenger(e.instance, e.messenger, nullptr);
  vkDestroyInstance(e.instance, nullptr);
}

HostBuffer make_buffer(const Engine& e, const void* data, VkDeviceSize bytes) {
  HostBuffer b;
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = bytes;
  bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  vk(vkCreateBuffer(e.device, &bci, nullptr, &b.buffer), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(e.device, b.buffer, &req);
  VkPhysicalDeviceMemoryProperties props;
  vkGetPhysicalDeviceMemoryProperties(e.physical, &props);
  const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  uint32_t type = 0;
  while (type < props.memoryTypeCount &&
         !((req.memoryTypeBits >> type & 1) && (props.memoryTypes[type].propertyFlags & want) == want))
    ++type;
  if (type == props.memoryTypeCount) die("no host-visible coherent memory type");
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = type;
  vk(vkAllocateMemory(e.device, &mai, nullptr, &b.memory), "vkAllocateMemory");
  vk(vkBindBufferMemory(e.device, b.buffer, b.memory, 0), "vkBindBufferMemory");
  void* mapped = nullptr;
  vk(vkMapMemory(e.device, b.memory, 0, bytes, 0, &mapped), "vkMapMemory");
  if (data) std::memcpy(mapped, data, bytes);  // coherent: visible to the device's next submission
  vkUnmapMemory(e.device, b.memory);
  return b;
}

void destroy_buffer(const Engine& e, HostBuffer& b) {
  vkDestroyBuffer(e.device, b.buffer, nullptr);
  vkFreeMemory(e.device, b.memory, nullptr);
}

void check(const fovea::api::Result<void>& r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().message);
}

}  // namespace embed
