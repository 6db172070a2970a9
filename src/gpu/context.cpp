#include "gpu/context.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gpu/device_model.h"
#include "gpu/features.h"
#include "gpu/kernel.h"
#include "util/error.h"
#include "util/file.h"

namespace fovea::gpu {

const char* result_name(VkResult r) {
  switch (r) {
#define FOVEA_CASE(x) \
  case x:             \
    return #x;
    FOVEA_CASE(VK_SUCCESS)
    FOVEA_CASE(VK_NOT_READY)
    FOVEA_CASE(VK_TIMEOUT)
    FOVEA_CASE(VK_INCOMPLETE)
    FOVEA_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    FOVEA_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    FOVEA_CASE(VK_ERROR_INITIALIZATION_FAILED)
    FOVEA_CASE(VK_ERROR_DEVICE_LOST)
    FOVEA_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    FOVEA_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    FOVEA_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    FOVEA_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    FOVEA_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    FOVEA_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    FOVEA_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    FOVEA_CASE(VK_ERROR_FRAGMENTED_POOL)
    FOVEA_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
#undef FOVEA_CASE
    default:
      return "VK_ERROR_UNKNOWN";
  }
}

void check(VkResult r, const char* what) {
  if (r != VK_SUCCESS) throw Error(std::string(what) + " failed: " + result_name(r));
}

static bool has_extension(const char* name) {
  uint32_t n = 0;
  vkEnumerateInstanceExtensionProperties(nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> ext(n);
  vkEnumerateInstanceExtensionProperties(nullptr, &n, ext.data());
  for (const auto& e : ext)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

static bool has_layer(const char* name) {
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  for (const auto& l : layers)
    if (std::strcmp(l.layerName, name) == 0) return true;
  return false;
}

static VkBool32 VKAPI_PTR on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                        VkDebugUtilsMessageTypeFlagsEXT,
                                        const VkDebugUtilsMessengerCallbackDataEXT* data,
                                        void* user) {
  static_cast<ValidationLog*>(user)->report(data->pMessage);
  return VK_FALSE;
}

void ValidationLog::report(const char* message) {
  ++count_;
  if (!quiet) std::fprintf(stderr, "vulkan validation: %s\n", message);
}

struct InstanceResult {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
};

static InstanceResult make_instance(bool validate, ValidationLog* log) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "fovea";
  app.pEngineName = "fovea";
  app.apiVersion = VK_API_VERSION_1_1;
  std::vector<const char*> exts, layers;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  // MoltenVK and other portability implementations are listed only on request.
  if (has_extension(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    exts.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    ci.flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  VkValidationFeatureEnableEXT enables[] = {
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = enables;
  VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                        VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  mci.pfnUserCallback = on_validation;
  mci.pUserData = log;
  if (validate) {
    if (!has_layer("VK_LAYER_KHRONOS_validation"))
      throw Error(
          "validation requested but the layer VK_LAYER_KHRONOS_validation is not installed "
          "(Debian: apt-get install vulkan-validationlayers)");
    if (!has_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
      throw Error("validation requested but VK_EXT_debug_utils is not available");
    layers.push_back("VK_LAYER_KHRONOS_validation");
    exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    features.pNext = &mci;  // also reports messages from instance creation
    ci.pNext = &features;
  }
  ci.pApplicationInfo = &app;
  ci.enabledExtensionCount = uint32_t(exts.size());
  ci.ppEnabledExtensionNames = exts.data();
  ci.enabledLayerCount = uint32_t(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  InstanceResult r;
  VkResult res = vkCreateInstance(&ci, nullptr, &r.instance);
  if (res == VK_ERROR_INCOMPATIBLE_DRIVER)
    throw Error(
        "no Vulkan driver found (install a driver; on a machine without a GPU, Debian's "
        "mesa-vulkan-drivers provides lavapipe)");
  check(res, "vkCreateInstance");
  if (validate) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(r.instance, "vkCreateDebugUtilsMessengerEXT"));
    check(create(r.instance, &mci, nullptr, &r.messenger), "vkCreateDebugUtilsMessengerEXT");
  }
  return r;
}

static std::vector<DeviceInfo> enumerate(VkInstance instance, const std::string& limits) {
  uint32_t n = 0;
  check(vkEnumeratePhysicalDevices(instance, &n, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> pds(n);
  check(vkEnumeratePhysicalDevices(instance, &n, pds.data()), "vkEnumeratePhysicalDevices");
  std::vector<DeviceInfo> out;
  for (VkPhysicalDevice pd : pds) {
    DeviceInfo d = query_device(instance, pd, limits);
    if (d.api_version < VK_API_VERSION_1_1) continue;  // Fovea needs Vulkan 1.1
    bool dup = std::any_of(out.begin(), out.end(),
                           [&](const DeviceInfo& o) { return o.uuid == d.uuid; });
    if (dup) continue;
    d.index = uint32_t(out.size());
    out.push_back(d);
  }
  return out;
}

std::vector<DeviceInfo> list_devices(const std::string& limits) {
  InstanceResult inst = make_instance(false, nullptr);
  std::vector<DeviceInfo> out;
  try {
    out = enumerate(inst.instance, limits);
  } catch (...) {
    vkDestroyInstance(inst.instance, nullptr);
    throw;
  }
  vkDestroyInstance(inst.instance, nullptr);
  for (auto& d : out) d.handle = VK_NULL_HANDLE;  // dangling once the instance is gone
  return out;
}

static int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
  }
}

size_t best_device(const std::vector<DeviceInfo>& devices) {
  if (devices.empty()) throw Error("no Vulkan 1.1 device found");
  size_t best = 0;
  for (size_t i = 1; i < devices.size(); ++i) {
    const auto& a = devices[i];
    const auto& b = devices[best];
    if (type_rank(a.type) > type_rank(b.type) ||
        (type_rank(a.type) == type_rank(b.type) && a.device_local_bytes > b.device_local_bytes))
      best = i;
  }
  return best;
}

static std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

size_t pick_device(const std::vector<DeviceInfo>& devices, const std::string& spec) {
  if (devices.empty()) throw Error("no Vulkan 1.1 device found");
  if (spec.empty()) return best_device(devices);
  std::string names;
  for (const auto& d : devices)
    names += (names.empty() ? "" : ", ") + std::to_string(d.index) + ": " + d.name;
  bool numeric = std::all_of(spec.begin(), spec.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (numeric) {
    size_t i = std::stoul(spec.size() > 9 ? std::string("999999999") : spec);
    if (i < devices.size()) return i;
    throw Error("device " + spec + " does not exist; devices present: " + names);
  }
  for (size_t i = 0; i < devices.size(); ++i)
    if (lower(devices[i].name).find(lower(spec)) != std::string::npos) return i;
  throw Error("no device name contains '" + spec + "'; devices present: " + names);
}

std::unique_ptr<Context> Context::create(const ContextOptions& opts) {
  std::unique_ptr<Context> ctx(new Context());
  ctx->owns_ = true;
  InstanceResult inst = make_instance(opts.validate, ctx->log_.get());
  ctx->instance_ = inst.instance;
  ctx->messenger_ = inst.messenger;
  std::vector<DeviceInfo> devices = enumerate(ctx->instance_, opts.limits);
  ctx->info_ = devices.at(pick_device(devices, opts.device));
  ctx->physical_ = ctx->info_.handle;

  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical_, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical_, &nq, qf.data());
  // Prefer a compute family without graphics (async compute), else any
  // compute family.
  int family = -1;
  for (uint32_t i = 0; i < nq && family < 0; ++i)
    if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT))
      family = int(i);
  for (uint32_t i = 0; i < nq && family < 0; ++i)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = int(i);
  if (family < 0) throw Error("device " + ctx->info_.name + " has no compute queue");
  ctx->family_ = uint32_t(family);
  // --profile needs timestamps on this very family.
  ctx->info_.timestamps = ctx->info_.timestamps && qf[ctx->family_].timestampValidBits > 0;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = ctx->family_;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  std::vector<const char*> dev_exts;
  uint32_t ne = 0;
  vkEnumerateDeviceExtensionProperties(ctx->physical_, nullptr, &ne, nullptr);
  std::vector<VkExtensionProperties> avail(ne);
  vkEnumerateDeviceExtensionProperties(ctx->physical_, nullptr, &ne, avail.data());
  for (const auto& e : avail)
    if (std::strcmp(e.extensionName, "VK_KHR_portability_subset") == 0)
      dev_exts.push_back("VK_KHR_portability_subset");  // required where present
  // What the fast kernels need, only where the model has it (features.h).
  const EnabledFeatures features(ctx->info_, ctx->info_.coop_matrix_f16);
  dev_exts.insert(dev_exts.end(), features.extensions().begin(), features.extensions().end());
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = features.chain();
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  dci.enabledExtensionCount = uint32_t(dev_exts.size());
  dci.ppEnabledExtensionNames = dev_exts.data();
  check(vkCreateDevice(ctx->physical_, &dci, nullptr, &ctx->device_), "vkCreateDevice");
  vkGetDeviceQueue(ctx->device_, ctx->family_, 0, &ctx->queue_);
  ctx->fp16_storage_ = ctx->info_.storage_16bit;
  ctx->coop_matrix_ = ctx->info_.coop_matrix_f16;
  ctx->init_common(opts);
  return ctx;
}

std::unique_ptr<Context> Context::adopt(VkInstance instance, VkPhysicalDevice physical,
                                        VkDevice device, uint32_t queue_family,
                                        uint32_t queue_index, const ContextOptions& opts) {
  if (!instance || !physical || !device) throw Error("adopt: null Vulkan handle");
  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, qf.data());
  if (queue_family >= nq || !(qf[queue_family].queueFlags & VK_QUEUE_COMPUTE_BIT))
    throw Error("adopt: queue family " + std::to_string(queue_family) +
                " does not exist or does not support compute");
  if (queue_index >= qf[queue_family].queueCount)
    throw Error("adopt: queue index " + std::to_string(queue_index) + " out of range");
  std::unique_ptr<Context> ctx(new Context());
  ctx->owns_ = false;
  ctx->instance_ = instance;
  ctx->physical_ = physical;
  ctx->device_ = device;
  ctx->family_ = queue_family;
  ctx->info_ = query_device(instance, physical, opts.limits);
  ctx->info_.timestamps = ctx->info_.timestamps && qf[queue_family].timestampValidBits > 0;
  vkGetDeviceQueue(device, queue_family, queue_index, &ctx->queue_);
  ctx->init_common(opts);
  return ctx;
}

KernelOptions Context::kernel_options() const {
  return {.portable = portable_kernels, .half_precision = half_precision, .occupancy_split_k = occupancy_split_k,
          .tune = tune, .fp16_storage = fp16_storage_, .coop_matrix = coop_matrix_, .fast = fast_};
}

void Context::init_common(const ContextOptions& opts) {
  require_minimums(info_);
  portable_kernels = opts.portable;
  tune = opts.tune;
  fast_ = opts.fast;
  lose_device_at_submit_ = opts.lose_device_at_submit;
  half_precision = info_.type != VK_PHYSICAL_DEVICE_TYPE_CPU;
  occupancy_split_k = info_.type != VK_PHYSICAL_DEVICE_TYPE_CPU;
  if (!opts.fast.empty()) {
    const std::string& v = opts.fast;
    if (v != "0" && v != "1" && v != "fp16" && v != "fp32")
      throw Error(opts.fast_name + ": '" + v +
                  "' is not 0 (portable kernels only), 1 (the default), fp16 or fp32");
    if (v == "0") portable_kernels = true;
    if (v == "0" || v == "fp32") half_precision = false;
    if (v == "fp16") {
      if (!fp16_storage_ && !coop_matrix_)
        throw Error(opts.fast_name + "=fp16: device " + info_.name +
                    " has neither 16-bit storage buffers nor fp16 cooperative matrices");
      half_precision = true;
    }
  }
  if (info_.vulkan11_min) portable_kernels = true;
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = family_;
  check(vkCreateCommandPool(device_, &pci, nullptr, &once_pool_), "vkCreateCommandPool");
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(vkCreateFence(device_, &fci, nullptr, &once_fence_), "vkCreateFence");
  load_pipeline_cache();
  kernels_ = std::make_unique<KernelTable>(*this);
}

Context::~Context() {
  if (device_) vkDeviceWaitIdle(device_);
  kernels_.reset();
  if (pipeline_cache_) {
    save_pipeline_cache();
    vkDestroyPipelineCache(device_, pipeline_cache_, nullptr);
  }
  if (once_fence_) vkDestroyFence(device_, once_fence_, nullptr);
  if (once_pool_) vkDestroyCommandPool(device_, once_pool_, nullptr);
  if (!owns_) return;
  vkDestroyDevice(device_, nullptr);
  if (messenger_) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    destroy(instance_, messenger_, nullptr);
  }
  vkDestroyInstance(instance_, nullptr);
}

uint32_t Context::memory_type(uint32_t bits, VkMemoryPropertyFlags required,
                              VkMemoryPropertyFlags preferred) const {
  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(physical_, &mem);
  int fallback = -1;
  for (uint32_t i = 0; i < mem.memoryTypeCount; ++i) {
    VkMemoryPropertyFlags f = mem.memoryTypes[i].propertyFlags;
    if (!(bits & (1u << i)) || (f & required) != required) continue;
    if ((f & preferred) == preferred) return i;
    if (fallback < 0) fallback = int(i);
  }
  if (fallback < 0) throw Error("device " + info_.name + " has no suitable memory type");
  return uint32_t(fallback);
}

uint32_t Context::memory_heap(uint32_t type) const {
  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(physical_, &mem);
  if (type >= mem.memoryTypeCount) throw Error("internal: memory type " + std::to_string(type) + " does not exist");
  return mem.memoryTypes[type].heapIndex;
}

std::string Context::heap_text(uint32_t heap) const {
  const uint64_t size = heap < info_.heap_count ? info_.heap_bytes[heap] : 0;
  std::string s = "memory heap " + std::to_string(heap) + " of " + info_.name + " has " +
                  std::to_string(size >> 20) + " MiB (" + std::to_string(size) + " bytes";
  if (info_.heap_limit) s += ", lowered by FOVEA_LIMITS heap=" + std::to_string(info_.heap_limit);
  return s + ")";
}

void Context::claim_memory(uint32_t heap, uint64_t bytes, const std::string& what) {
  std::lock_guard<std::mutex> lock(memory_mutex_);
  const uint64_t size = heap < info_.heap_count ? info_.heap_bytes[heap] : 0;
  if (heap >= info_.heap_count || bytes > size || heap_used_[heap] > size - bytes) {
    const uint64_t used = heap < heap_used_.size() ? heap_used_[heap] : 0;
    throw Error("out of device memory: " + what + " needs " + std::to_string((bytes + (1 << 20) - 1) >> 20) +
                " MiB (" + std::to_string(bytes) + " bytes), and " + heap_text(heap) + ", " +
                std::to_string(used >> 20) + " MiB (" + std::to_string(used) +
                " bytes) of it already in use by Fovea; use a smaller batch or model");
  }
  heap_used_[heap] += bytes;
}

void Context::release_memory(uint32_t heap, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(memory_mutex_);
  if (heap < heap_used_.size()) heap_used_[heap] -= std::min(bytes, heap_used_[heap]);
}

uint64_t Context::memory_in_use(uint32_t heap) const {
  std::lock_guard<std::mutex> lock(memory_mutex_);
  return heap < heap_used_.size() ? heap_used_[heap] : 0;
}

VkResult Context::submit(const VkSubmitInfo& si, VkFence fence) {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  return vkQueueSubmit(queue_, 1, &si, fence);
}

VkResult Context::submit_program(const VkSubmitInfo& si, VkFence fence) {
  if (lose_device_at_submit_ != 0 && ++program_submits_ == lose_device_at_submit_) return VK_ERROR_DEVICE_LOST;
  return submit(si, fence);
}

VkCommandBuffer Context::begin_once() {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = once_pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cmd;
  check(vkAllocateCommandBuffers(device_, &ai, &cmd), "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
  // Order after everything submitted before (compute steps, earlier copies).
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
  return cmd;
}

void Context::end_once(VkCommandBuffer cmd) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                     VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT |
                           VK_PIPELINE_STAGE_TRANSFER_BIT,
                       0, 1, &mb, 0, nullptr, 0, nullptr);
  check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  VkResult r = submit(si, once_fence_);
  if (r == VK_SUCCESS) r = vkWaitForFences(device_, 1, &once_fence_, VK_TRUE, UINT64_MAX);
  vkResetFences(device_, 1, &once_fence_);
  vkFreeCommandBuffers(device_, once_pool_, 1, &cmd);
  check(r, "one-off submission");
}

}  // namespace fovea::gpu
