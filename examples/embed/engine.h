// The host side of the embedding examples, as an engine would have it: its
// own Vulkan instance (validation layer with synchronisation validation, a
// messenger that counts messages) and device, host-visible buffers, the
// and Fovea's results checked or the program ends.
#pragma once
#include <fovea/fovea.hpp>
#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace embed {

// Validation messages our messenger has seen.
int validation_messages();

[[noreturn]] void die(const std::string& what);
void vk(VkResult r, const char* what);

// The application's Vulkan objects.
struct Engine {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  uint32_t family = 0;
  VkQueue queue = VK_NULL_HANDLE;
};
Engine create_engine();
void destroy_engine(Engine& e);

// A host-visible, coherent buffer the application fills; TRANSFER_SRC so
// Fovea can copy batches out of it, STORAGE for the application's shaders.
struct HostBuffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
};
HostBuffer make_buffer(const Engine& e, const void* data, VkDeviceSize bytes);
void destroy_buffer(const Engine& e, HostBuffer& b);

template <class T>
T take(fovea::api::Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().message);
  return std::move(r).value();
}
void check(const fovea::api::Result<void>& r, const char* what);

}  // namespace embed
