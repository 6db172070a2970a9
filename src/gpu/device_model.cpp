// The device model: what a physical device offers (limits, subgroups,
// fp16/int8 arithmetic and storage, cooperative matrices, timestamps), as
// DeviceInfo, the clamps of ContextOptions::limits and the Vulkan 1.1 minimums. It knows
// no Context: the context (gpu/context.cpp) and the device selection use it.
#include "gpu/device_model.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "gpu/features.h"
#include "gpu/kernel.h"
#include "util/error.h"

namespace fovea::gpu {

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

DeviceInfo query_device(VkInstance instance, VkPhysicalDevice pd, const std::string& limits) {
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
  d.heap_count = mem.memoryHeapCount;
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i) {
    d.heap_bytes[i] = mem.memoryHeaps[i].size;
    if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      d.device_local_bytes = std::max<uint64_t>(d.device_local_bytes, mem.memoryHeaps[i].size);
  }
  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, qf.data());
  for (const auto& q : qf)
    if ((q.queueFlags & VK_QUEUE_COMPUTE_BIT) && q.timestampValidBits > 0 &&
        lim.timestampComputeAndGraphics)
      d.timestamps = true;
  apply_limits(d, limits);
  return d;
}

namespace {
// FOVEA_LIMITS heap=N: N bytes, or N KiB, MiB or GiB; every heap at most that.
void limit_heaps(DeviceInfo& d, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  const std::string unit = end ? end : "";
  const int shift = unit.empty() ? 0 : unit == "KiB" ? 10 : unit == "MiB" ? 20 : unit == "GiB" ? 30 : -1;
  if (v.empty() || !std::isdigit(static_cast<unsigned char>(v[0])) || errno || shift < 0 || n == 0 ||
      n > (UINT64_MAX >> shift))
    throw Error("FOVEA_LIMITS: heap=" + v + " is not a positive byte count (BYTES, or N KiB, MiB or GiB: heap=512MiB)");
  const uint64_t bytes = uint64_t(n) << shift;
  d.heap_limit = d.heap_limit ? std::min(d.heap_limit, bytes) : bytes;
  for (uint32_t i = 0; i < d.heap_count; ++i) d.heap_bytes[i] = std::min(d.heap_bytes[i], bytes);
  d.device_local_bytes = std::min(d.device_local_bytes, bytes);
}
}  // namespace

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
    if (item.rfind("heap=", 0) == 0) {
      limit_heaps(d, item.substr(5));
      continue;
    }
    throw Error("FOVEA_LIMITS: unknown value '" + item +
                "' (expected vulkan11-min, storage_range=BYTES, heap=BYTES, or a comma-separated list)");
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

}  // namespace fovea::gpu
