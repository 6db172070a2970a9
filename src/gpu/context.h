// The Vulkan context: instance, physical device, device and one compute queue,
// either created here (best device, or the one named by --device/FOVEA_DEVICE)
// or adopted from a host application that keeps ownership. The only code
// that creates or destroys Vulkan objects lives in src/gpu.
#pragma once
#include <vulkan/vulkan.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fovea::gpu {

struct DeviceInfo {
  uint32_t index = 0;  // position in list_devices(), after de-duplication
  std::string name;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  uint32_t vendor_id = 0, device_id = 0;
  std::string driver;  // driver name and info, when the device reports them
  uint32_t api_version = 0;
  uint32_t driver_version = 0;  // VkPhysicalDeviceProperties::driverVersion (vendor encoding)
  uint64_t device_local_bytes = 0;  // the largest DEVICE_LOCAL heap
  // The device model: every limit and feature a kernel variant depends on
  // (docs/portability.md has the table). FOVEA_LIMITS clamps it (see
  // apply_limits); kernels choose variants from these fields only.
  uint32_t subgroup_size = 0;
  VkSubgroupFeatureFlags subgroup_ops = 0;  // 0 unless compute shaders have them
  uint32_t max_invocations = 0;
  std::array<uint32_t, 3> max_workgroup_size{};
  uint32_t max_shared_bytes = 0;
  uint32_t max_storage_buffers = 0;  // maxPerStageDescriptorStorageBuffers
  uint32_t max_push_constants = 0;   // bytes
  uint32_t max_storage_range = 0;  // maxStorageBufferRange: the most one binding may cover
  uint64_t max_allocation_bytes = 0;  // maxMemoryAllocationSize (Vulkan 1.1: >= 1 GiB)
  uint32_t max_group_count_x = 0;
  std::array<uint32_t, 3> max_group_count{};
  bool shader_float16 = false, shader_int8 = false;      // arithmetic
  bool storage_16bit = false, storage_8bit = false;      // storage-buffer access
  bool coop_matrix_khr = false, coop_matrix_nv = false;  // extensions present
  // VK_NV_cooperative_matrix lists fp16 x fp16 + fp32 -> fp32, 16x16x16 at
  // subgroup scope in compute, with fp16 arithmetic and the Vulkan memory
  // model available (what shaders/dense/gemm_coopmat*.comp need).
  bool coop_matrix_f16 = false;
  bool vulkan11_min = false;  // clamped by FOVEA_LIMITS=vulkan11-min
  uint64_t storage_alignment = 0;
  // Every view offset is a multiple of this: the largest of the storage,
  // uniform and texel-buffer offset alignments (and at least 16 bytes).
  uint64_t view_alignment = 16;
  uint32_t max_texel_elements = 0;  // maxTexelBufferElements
  float timestamp_period_ns = 0;
  bool timestamps = false;
  std::array<uint8_t, VK_UUID_SIZE> uuid{};
  VkPhysicalDevice handle = VK_NULL_HANDLE;
};

const char* device_type_name(VkPhysicalDeviceType t);
std::string describe(const DeviceInfo& d);  // one entry for `fovea devices`

// The limits a Fovea kernel set needs at least (the Vulkan 1.1 required
// minimums the kernels are written for). Throws fovea::Error naming the
// device and the first limit it misses.
void require_minimums(const DeviceInfo& d);

// Clamps the model by a FOVEA_LIMITS value: "" (nothing), "vulkan11-min"
// (the Vulkan 1.1 required minimums: 128 invocations, 16 KiB shared memory,
// 4 storage buffers, 128-byte push constants, 128 MiB storage range, 1 GiB
// allocations, 64 Ki texel elements, no subgroup operations, no fp16/int8, no cooperative
// matrix), "storage_range=N" (bytes, for tests of split buffers), or several
// separated by commas. Throws fovea::Error naming an unknown value.
void apply_limits(DeviceInfo& d, const std::string& limits);

// Which device, and the choices the kernels are made with. The library reads
// no environment variable: the command line turns FOVEA_* into these
// (src/cli/environment.h); the API has the same fields (fovea::api::DeviceOptions).
struct ContextOptions {
  std::string device;     // "" = best; else an index or a name substring
  bool validate = false;  // the validation layer with synchronisation validation
  // "" = the device model's defaults; "0": portable kernels only, fp32;
  // "1": the defaults; "fp16": the fp16 paths on; "fp32": off (FOVEA_FAST).
  std::string fast;
  // The name `fast` has where it came from, for its errors (the API's
  // "DeviceOptions::fast").
  std::string fast_name = "FOVEA_FAST";
  bool portable = false;  // portable kernels only (FOVEA_KERNELS=portable)
  std::string limits;     // clamps of the device model (apply_limits; FOVEA_LIMITS)
  bool tune = true;       // time kernel variants (tuner.h); false: variant 0 (FOVEA_TUNE=0)
};

// Collects validation-layer messages. Tests fail when count() > 0.
class ValidationLog {
 public:
  void report(const char* message);
  uint64_t count() const { return count_.load(); }
  void reset() { count_ = 0; }
  bool quiet = false;  // tests that provoke a message on purpose mute it

 private:
  std::atomic<uint64_t> count_{0};
};

class Context {
 public:
  // Creates its own instance and device. Throws fovea::Error.
  static std::unique_ptr<Context> create(const ContextOptions& opts);
  // Adopts the caller's objects; the queue family must support compute. The
  // context never destroys them; the caller keeps them alive until the
  // context is destroyed.
  // opts.device and opts.validate do not apply (the caller's instance decides).
  static std::unique_ptr<Context> adopt(VkInstance instance, VkPhysicalDevice physical,
                                        VkDevice device, uint32_t queue_family,
                                        uint32_t queue_index = 0, const ContextOptions& opts = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  VkInstance instance() const { return instance_; }
  VkPhysicalDevice physical() const { return physical_; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return family_; }
  const DeviceInfo& info() const { return info_; }
  // Testing only: the device model, to lower a limit for one test (which
  // restores it), e.g. max_storage_range for the split-buffer paths.
  DeviceInfo& info_for_test() { return info_; }
  bool validating() const { return messenger_ != VK_NULL_HANDLE; }
  ValidationLog& validation() { return *log_; }
  VkPipelineCache pipeline_cache() const { return pipeline_cache_; }

  // Memory type index with all `required` flags, preferring `preferred`.
  uint32_t memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                       VkMemoryPropertyFlags preferred) const;

  // One-off work outside the training loop (uploads, readbacks): records
  // through `fn`, submits, waits. Ends with a barrier that makes transfer and
  // shader writes visible to every later command and to the host.
  template <class F>
  void run_once(F&& fn) {
    VkCommandBuffer cmd = begin_once();
    fn(cmd);
    end_once(cmd);
  }

  // Which kernel variants ops may choose. Fast paths (texel-buffer GEMM)
  // are taken when the device model allows; FOVEA_FAST=0 (or the older
  // FOVEA_KERNELS=portable), FOVEA_LIMITS=vulkan11-min, or tests comparing
  // the two, force the portable kernels that run within the Vulkan 1.1
  // minimum limits everywhere.
  bool portable_kernels = false;
  // Whether the tuner may time kernel variants (ContextOptions::tune).
  bool tune = true;
  // Whether reductions may add lanes with subgroup arithmetic (the fast
  // path of norm/reduce): the model has basic and arithmetic subgroup
  // operations in compute shaders and portable kernels are not forced.
  bool subgroup_reductions() const {
    const VkSubgroupFeatureFlags need =
        VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    return !portable_kernels && (info_.subgroup_ops & need) == need;
  }
  // Whether compute shaders may use subgroupShuffle (the implicit-GEMM
  // convolution broadcasts weights with it), as the device model says.
  bool subgroup_shuffles() const { return (info_.subgroup_ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) != 0; }
  // Paths that round operands to fp16 and accumulate in fp32: conv2d's
  // im2col columns in 16-bit storage, and the cooperative-matrix GEMM. They
  // change results at fp16 rounding (about 1e-3 relative), so by default
  // they are on only where they pay: on GPUs, not on CPU implementations
  // (VK_PHYSICAL_DEVICE_TYPE_CPU: conversions cost time there and memory
  // bandwidth is not the limit; docs/portability.md). FOVEA_FAST=fp16 turns
  // them on wherever the device has the features, FOVEA_FAST=fp32 or 0 off;
  // tests set it themselves.
  bool half_precision = false;
  // Each needs its features enabled at device creation (a host's adopted
  // device is not assumed to have them).
  bool fp16_columns() const { return !portable_kernels && half_precision && fp16_storage_; }
  // The coopmat GEMM assumes subgroups of 32 (4 per 128-invocation
  // workgroup, each picking its tile by gl_SubgroupID).
  bool coop_matrix() const {
    return !portable_kernels && half_precision && coop_matrix_ && info_.subgroup_size == 32 &&
           info_.max_invocations >= 128 && (info_.subgroup_ops & VK_SUBGROUP_FEATURE_BASIC_BIT);
  }

  // Split-K for occupancy: a GEMM with too few output tiles to fill a GPU
  // (fashion_cnn's 3136->128 dense layer at batch 128 has 16) cuts its
  // reduction into short chunks whose partial products dense/split_reduce
  // adds in order. It changes the summation order, so it is a fast path: on
  // by default on GPUs, off on CPU implementations (their few cores are
  // already busy and the split only adds a pass) and with FOVEA_FAST=0.
  bool occupancy_split_k = false;
  bool split_k_for_occupancy() const { return !portable_kernels && occupancy_split_k; }

  // The embedded-shader pipeline cache and the kernel table (src/gpu/kernel).
  struct KernelTable;
  KernelTable& kernels() { return *kernels_; }

 private:
  Context() = default;
  void init_common(const ContextOptions& opts);
  VkCommandBuffer begin_once();
  void end_once(VkCommandBuffer cmd);
  void load_pipeline_cache();
  void save_pipeline_cache();

  bool owns_ = false;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t family_ = 0;
  DeviceInfo info_;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  std::unique_ptr<ValidationLog> log_ = std::make_unique<ValidationLog>();
  VkPipelineCache pipeline_cache_ = VK_NULL_HANDLE;
  VkCommandPool once_pool_ = VK_NULL_HANDLE;
  VkFence once_fence_ = VK_NULL_HANDLE;
  bool fp16_storage_ = false, coop_matrix_ = false;  // enabled at device creation
  std::unique_ptr<KernelTable> kernels_;
};

// Lists the devices of a temporary instance, duplicates (same device UUID,
// e.g. one GPU seen through two ICDs) removed, best first is NOT applied:
// list order is the driver's.
// `limits` clamps each device model as ContextOptions::limits does.
std::vector<DeviceInfo> list_devices(const std::string& limits = "");
// Index into `devices` of the best device: discrete > integrated > virtual >
// CPU, then the most device-local memory.
size_t best_device(const std::vector<DeviceInfo>& devices);
// Resolves a --device/FOVEA_DEVICE value (an index or a case-insensitive name
// substring). Throws fovea::Error naming the value and the devices present.
size_t pick_device(const std::vector<DeviceInfo>& devices, const std::string& spec);

// Throws fovea::Error("what: VK_ERROR_...") when r is not VK_SUCCESS.
void check(VkResult r, const char* what);
const char* result_name(VkResult r);

}  // namespace fovea::gpu
