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

const char* device_type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

static std::string version_string(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
         "." + std::to_string(VK_API_VERSION_PATCH(v));
}

static std::string subgroup_ops_string(VkSubgroupFeatureFlags f) {
  static const std::pair<VkSubgroupFeatureFlagBits, const char*> names[] = {
      {VK_SUBGROUP_FEATURE_BASIC_BIT, "basic"},
      {VK_SUBGROUP_FEATURE_VOTE_BIT, "vote"},
      {VK_SUBGROUP_FEATURE_ARITHMETIC_BIT, "arithmetic"},
      {VK_SUBGROUP_FEATURE_BALLOT_BIT, "ballot"},
      {VK_SUBGROUP_FEATURE_SHUFFLE_BIT, "shuffle"},
      {VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT, "shuffle_relative"},
      {VK_SUBGROUP_FEATURE_CLUSTERED_BIT, "clustered"},
      {VK_SUBGROUP_FEATURE_QUAD_BIT, "quad"},
  };
  std::string s;
  for (const auto& [bit, name] : names)
    if (f & bit) {
      if (!s.empty()) s += ',';
      s += name;
    }
  return s.empty() ? "none" : s;
}

std::string describe(const DeviceInfo& d) {
  char vendor[16];
  std::snprintf(vendor, sizeof vendor, "0x%04x", d.vendor_id);
  std::ostringstream s;
  s << "[" << d.index << "] " << d.name << " (" << device_type_name(d.type) << ", vendor "
    << vendor << ", Vulkan " << version_string(d.api_version) << ")\n"
    << "    driver: " << (d.driver.empty() ? "unknown" : d.driver) << "\n"
    << "    memory: " << (d.device_local_bytes >> 20) << " MiB device-local, subgroup "
    << d.subgroup_size << ", workgroup <= " << d.max_invocations << " invocations, shared "
    << (d.max_shared_bytes >> 10) << " KiB, storage range " << (d.max_storage_range >> 20)
    << " MiB, texel buffer " << d.max_texel_elements << " elements, timestamps "
    << (d.timestamps ? "yes" : "no") << "\n"
    << "    compute: workgroup size " << d.max_workgroup_size[0] << "x" << d.max_workgroup_size[1]
    << "x" << d.max_workgroup_size[2] << ", groups " << d.max_group_count[0] << "x"
    << d.max_group_count[1] << "x" << d.max_group_count[2] << ", " << d.max_storage_buffers
    << " storage buffers per stage, push constants " << d.max_push_constants << " bytes\n"
    << "    features: subgroup operations " << subgroup_ops_string(d.subgroup_ops)
    << "; fp16 arithmetic " << (d.shader_float16 ? "yes" : "no") << ", int8 arithmetic "
    << (d.shader_int8 ? "yes" : "no") << ", 16-bit storage " << (d.storage_16bit ? "yes" : "no")
    << ", 8-bit storage " << (d.storage_8bit ? "yes" : "no") << ", cooperative matrix "
    << (d.coop_matrix_khr && d.coop_matrix_nv ? "KHR and NV"
        : d.coop_matrix_khr                  ? "KHR"
        : d.coop_matrix_nv                   ? "NV"
                                             : "no")
    << (d.coop_matrix_f16 ? " (NV fp16 16x16x16 with fp32 accumulation: the coopmat GEMM)" : "");
  return s.str();
}

static std::vector<VkExtensionProperties> device_extensions(VkPhysicalDevice pd) {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> ext(n);
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, ext.data());
  ext.resize(n);
  return ext;
}

static bool listed(const std::vector<VkExtensionProperties>& ext, const char* name) {
  return std::any_of(ext.begin(), ext.end(), [&](const VkExtensionProperties& e) {
    return std::strcmp(e.extensionName, name) == 0;
  });
}

// The features half of the model: fp16/int8 arithmetic and 16/8-bit storage,
// each chained only where the device's version or extensions define it.
static void query_features(VkInstance instance, VkPhysicalDevice pd, uint32_t api, DeviceInfo& d) {
  const std::vector<VkExtensionProperties> ext = device_extensions(pd);
  const bool v12 = api >= VK_API_VERSION_1_2;
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDevice8BitStorageFeatures s8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features fi{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  f2.pNext = &s16;  // core in 1.1
  void** tail = &s16.pNext;
  if (v12 || listed(ext, VK_KHR_8BIT_STORAGE_EXTENSION_NAME)) {
    *tail = &s8;
    tail = &s8.pNext;
  }
  if (v12 || listed(ext, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME)) *tail = &fi;
  vkGetPhysicalDeviceFeatures2(pd, &f2);
  d.storage_16bit = s16.storageBuffer16BitAccess;
  d.storage_8bit = s8.storageBuffer8BitAccess;
  d.shader_float16 = fi.shaderFloat16;
  d.shader_int8 = fi.shaderInt8;
  d.coop_matrix_khr = listed(ext, "VK_KHR_cooperative_matrix");
  d.coop_matrix_nv = listed(ext, "VK_NV_cooperative_matrix");
  d.coop_matrix_f16 = query_coop_matrix_f16(instance, pd, ext, d.shader_float16);
}

static DeviceInfo query_device(VkInstance instance, VkPhysicalDevice pd) {
  DeviceInfo d;
  d.handle = pd;
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceIDProperties ids{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maint3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceProperties basic;
  vkGetPhysicalDeviceProperties(pd, &basic);
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &subgroup;
  subgroup.pNext = &maint3;
  maint3.pNext = &ids;
  // VkPhysicalDeviceDriverProperties is core in 1.2; chain it only there.
  if (basic.apiVersion >= VK_API_VERSION_1_2) ids.pNext = &driver;
  vkGetPhysicalDeviceProperties2(pd, &props);
  const VkPhysicalDeviceLimits& lim = props.properties.limits;
  d.name = props.properties.deviceName;
  d.type = props.properties.deviceType;
  d.vendor_id = props.properties.vendorID;
  d.device_id = props.properties.deviceID;
  d.api_version = props.properties.apiVersion;
  d.driver_version = props.properties.driverVersion;
  if (basic.apiVersion >= VK_API_VERSION_1_2)
    d.driver = std::string(driver.driverName) + " " + driver.driverInfo;
  d.subgroup_size = subgroup.subgroupSize;
  if (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT)
    d.subgroup_ops = subgroup.supportedOperations;
  d.max_invocations = lim.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) {
    d.max_workgroup_size[i] = lim.maxComputeWorkGroupSize[i];
    d.max_group_count[i] = lim.maxComputeWorkGroupCount[i];
  }
  d.max_shared_bytes = lim.maxComputeSharedMemorySize;
  d.max_storage_buffers = lim.maxPerStageDescriptorStorageBuffers;
  d.max_push_constants = lim.maxPushConstantsSize;
  d.max_storage_range = lim.maxStorageBufferRange;
  d.max_allocation_bytes = maint3.maxMemoryAllocationSize;
  d.max_group_count_x = lim.maxComputeWorkGroupCount[0];
  query_features(instance, pd, basic.apiVersion, d);
  d.storage_alignment = lim.minStorageBufferOffsetAlignment;
  d.view_alignment = std::max<uint64_t>({16, lim.minStorageBufferOffsetAlignment,
                                         lim.minUniformBufferOffsetAlignment,
                                         lim.minTexelBufferOffsetAlignment});
  d.max_texel_elements = lim.maxTexelBufferElements;
  d.timestamp_period_ns = lim.timestampPeriod;
  std::memcpy(d.uuid.data(), ids.deviceUUID, VK_UUID_SIZE);
  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i)
    if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      d.device_local_bytes = std::max<uint64_t>(d.device_local_bytes, mem.memoryHeaps[i].size);
  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, qf.data());
  for (const auto& q : qf)
    if ((q.queueFlags & VK_QUEUE_COMPUTE_BIT) && q.timestampValidBits > 0 &&
        lim.timestampComputeAndGraphics)
      d.timestamps = true;
  apply_limits(d, std::getenv("FOVEA_LIMITS") ? std::getenv("FOVEA_LIMITS") : "");
  return d;
}

void apply_limits(DeviceInfo& d, const std::string& limits) {
  std::stringstream items(limits);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item.empty()) continue;
    if (item == "vulkan11-min") {
      // Table 55 ("Required limits") of the Vulkan 1.1 specification.
      auto clamp = [](auto& field, auto value) { field = std::min<decltype(+field)>(field, value); };
      clamp(d.max_invocations, 128u);
      for (uint32_t& s : d.max_workgroup_size) clamp(s, 128u);
      clamp(d.max_workgroup_size[2], 64u);
      for (uint32_t& g : d.max_group_count) clamp(g, 65535u);
      clamp(d.max_group_count_x, 65535u);
      clamp(d.max_shared_bytes, 16384u);
      clamp(d.max_storage_buffers, 4u);
      clamp(d.max_push_constants, 128u);
      clamp(d.max_storage_range, 1u << 27);
      clamp(d.max_allocation_bytes, uint64_t(1) << 30);
      clamp(d.max_texel_elements, 65536u);
      // Offsets may need up to 256-byte alignment on a minimal device.
      d.view_alignment = std::max<uint64_t>(d.view_alignment, 256);
      d.subgroup_ops = 0;
      d.shader_float16 = d.shader_int8 = d.storage_16bit = d.storage_8bit = false;
      d.coop_matrix_khr = d.coop_matrix_nv = d.coop_matrix_f16 = false;
      d.vulkan11_min = true;
      continue;
    }
    const std::string key = "storage_range=";
    if (item.rfind(key, 0) == 0) {
      const std::string v = item.substr(key.size());
      char* end = nullptr;
      errno = 0;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end || errno || n < 1024 || n % 16 != 0 || n > UINT32_MAX)
        throw Error("FOVEA_LIMITS: storage_range=" + v +
                    " is not a byte count from 1024 to 4294967280 divisible by 16");
      d.max_storage_range = std::min<uint32_t>(d.max_storage_range, uint32_t(n));
      continue;
    }
    throw Error("FOVEA_LIMITS: unknown value '" + item +
                "' (expected vulkan11-min, storage_range=BYTES, or a comma-separated list)");
  }
}

void require_minimums(const DeviceInfo& d) {
  // What every Fovea kernel may assume (src/gpu/kernel.h: 64-invocation
  // workgroups, 4 storage buffers + 1 uniform buffer + 2 texel buffers, 128
  // push-constant bytes, shared arrays up to 1 KiB).
  auto need = [&](bool ok, const std::string& what) {
    if (!ok)
      throw Error("device " + d.name + " does not meet Fovea's minimum: " + what +
                  " (docs/portability.md lists what each kernel needs)");
  };
  need(d.max_invocations >= 64 && d.max_workgroup_size[0] >= 64,
       "64 invocations per workgroup, has " + std::to_string(d.max_invocations));
  need(d.max_shared_bytes >= 16384,
       "16 KiB of shared memory, has " + std::to_string(d.max_shared_bytes) + " bytes");
  need(d.max_storage_buffers >= kMaxStorageBindings,
       "4 storage buffers per stage, has " + std::to_string(d.max_storage_buffers));
  need(d.max_push_constants >= kPushConstantBytes,
       "128 bytes of push constants, has " + std::to_string(d.max_push_constants));
  need(d.max_group_count[0] >= 65535 && d.max_group_count[1] >= 65535 &&
           d.max_group_count[2] >= 65535,
       "65535 workgroups per dimension");
  need(d.max_storage_range >= 1024, "a storage range of 1 KiB");
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

static std::vector<DeviceInfo> enumerate(VkInstance instance) {
  uint32_t n = 0;
  check(vkEnumeratePhysicalDevices(instance, &n, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> pds(n);
  check(vkEnumeratePhysicalDevices(instance, &n, pds.data()), "vkEnumeratePhysicalDevices");
  std::vector<DeviceInfo> out;
  for (VkPhysicalDevice pd : pds) {
    DeviceInfo d = query_device(instance, pd);
    if (d.api_version < VK_API_VERSION_1_1) continue;  // Fovea needs Vulkan 1.1
    bool dup = std::any_of(out.begin(), out.end(),
                           [&](const DeviceInfo& o) { return o.uuid == d.uuid; });
    if (dup) continue;
    d.index = uint32_t(out.size());
    out.push_back(d);
  }
  return out;
}

std::vector<DeviceInfo> list_devices() {
  InstanceResult inst = make_instance(false, nullptr);
  std::vector<DeviceInfo> out;
  try {
    out = enumerate(inst.instance);
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

static bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

std::unique_ptr<Context> Context::create(const ContextOptions& opts) {
  std::unique_ptr<Context> ctx(new Context());
  ctx->owns_ = true;
  bool validate = opts.validate || env_flag("FOVEA_VALIDATION");
  InstanceResult inst = make_instance(validate, ctx->log_.get());
  ctx->instance_ = inst.instance;
  ctx->messenger_ = inst.messenger;
  std::vector<DeviceInfo> devices = enumerate(ctx->instance_);
  std::string spec = opts.device;
  if (spec.empty() && std::getenv("FOVEA_DEVICE")) spec = std::getenv("FOVEA_DEVICE");
  ctx->info_ = devices.at(pick_device(devices, spec));
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
  ctx->init_common();
  return ctx;
}

std::unique_ptr<Context> Context::adopt(VkInstance instance, VkPhysicalDevice physical,
                                        VkDevice device, uint32_t queue_family,
                                        uint32_t queue_index) {
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
  ctx->info_ = query_device(instance, physical);
  ctx->info_.timestamps = ctx->info_.timestamps && qf[queue_family].timestampValidBits > 0;
  vkGetDeviceQueue(device, queue_family, queue_index, &ctx->queue_);
  ctx->init_common();
  return ctx;
}

void Context::init_common() {
  require_minimums(info_);
  if (const char* k = std::getenv("FOVEA_KERNELS"); k && std::strcmp(k, "portable") == 0)
    portable_kernels = true;
  half_precision = info_.type != VK_PHYSICAL_DEVICE_TYPE_CPU;
  occupancy_split_k = info_.type != VK_PHYSICAL_DEVICE_TYPE_CPU;
  if (const char* f = std::getenv("FOVEA_FAST"); f && *f) {
    const std::string v = f;
    if (v != "0" && v != "1" && v != "fp16" && v != "fp32")
      throw Error("FOVEA_FAST: '" + v +
                  "' is not 0 (portable kernels only), 1 (the default), fp16 or fp32");
    if (v == "0") portable_kernels = true;
    if (v == "0" || v == "fp32") half_precision = false;
    if (v == "fp16") {
      if (!fp16_storage_ && !coop_matrix_)
        throw Error("FOVEA_FAST=fp16: device " + info_.name +
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
  VkResult r = vkQueueSubmit(queue_, 1, &si, once_fence_);
  if (r == VK_SUCCESS) r = vkWaitForFences(device_, 1, &once_fence_, VK_TRUE, UINT64_MAX);
  vkResetFences(device_, 1, &once_fence_);
  vkFreeCommandBuffers(device_, once_pool_, 1, &cmd);
  check(r, "one-off submission");
}

// The pipeline cache lives in $XDG_CACHE_HOME/fovea (or ~/.cache/fovea), one
// file per device UUID and driver version; a file the driver does not accept
// is ignored, never fatal.
static std::filesystem::path cache_path(const DeviceInfo& d) {
  const std::filesystem::path dir = cache_dir();
  if (dir.empty()) return {};
  char name[80];
  std::snprintf(name, sizeof name, "pipelines-%04x-%04x-", d.vendor_id, d.device_id);
  std::string file = name;
  for (uint8_t b : d.uuid) {
    char hx[3];
    std::snprintf(hx, sizeof hx, "%02x", b);
    file += hx;
  }
  return dir / (file + ".bin");
}

void Context::load_pipeline_cache() {
  std::vector<char> data;
  std::filesystem::path p = cache_path(info_);
  if (!p.empty()) {
    std::ifstream f(p, std::ios::binary);
    if (f) data.assign(std::istreambuf_iterator<char>(f), {});
  }
  // The header carries vendor, device and cache UUID; the driver rejects a
  // mismatch itself, but we check to stay safe on drivers that do not.
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(physical_, &props);
  if (data.size() < 16 + VK_UUID_SIZE ||
      std::memcmp(data.data() + 16, props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
    data.clear();
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = data.size();
  ci.pInitialData = data.empty() ? nullptr : data.data();
  if (vkCreatePipelineCache(device_, &ci, nullptr, &pipeline_cache_) != VK_SUCCESS) {
    ci.initialDataSize = 0;
    ci.pInitialData = nullptr;
    check(vkCreatePipelineCache(device_, &ci, nullptr, &pipeline_cache_), "vkCreatePipelineCache");
  }
}

void Context::save_pipeline_cache() {
  std::filesystem::path p = cache_path(info_);
  if (p.empty()) return;
  size_t size = 0;
  if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, nullptr) != VK_SUCCESS || !size) return;
  std::vector<char> data(size);
  if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, data.data()) != VK_SUCCESS) return;
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) return;  // a cache we cannot write only costs compile time
  std::filesystem::path tmp = p;
  tmp += ".tmp" + std::to_string(reinterpret_cast<uintptr_t>(this));
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(data.data(), std::streamsize(size));
    if (!f) return;
  }
  std::filesystem::rename(tmp, p, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace fovea::gpu
