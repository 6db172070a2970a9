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
#include <mutex>
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
  // Every memory heap's size, as the device reports it or lowered by
  // FOVEA_LIMITS heap=BYTES (heap_limit, 0 = none): arenas are checked
  // against them before they allocate.
  uint32_t heap_count = 0;
  std::array<uint64_t, VK_MAX_MEMORY_HEAPS> heap_bytes{};
  uint64_t heap_limit = 0;
  // The device model: every limit and feature a kernel variant depends on
  // (docs/portability.md has the table). FOVEA_LIMITS clamps it (see
  // apply_limits); ops::KernelPolicy chooses variants from these fields only.
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
// matrix), "storage_range=N" (bytes, for tests of split buffers), "heap=N"
// (bytes, or with a KiB, MiB or GiB suffix: every memory heap at most N, for
// tests of models that do not fit), or several separated by commas. Throws fovea::Error naming an unknown value.
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
  // Test-only fault injection: the Nth (1-based) replayed program's
  // submission fails with VK_ERROR_DEVICE_LOST, as a driver reset would
  // (the command sets it from FOVEA_TEST_DEVICE_LOST; 0 = never).
  uint64_t lose_device_at_submit = 0;
};

// What ops::KernelPolicy reads besides the device model: the options as
// resolved for one context, and the features its device was created with.
struct KernelOptions {
  bool portable = false;           // portable kernels only
  bool half_precision = false;     // the fp16 paths are wanted
  bool occupancy_split_k = false;  // split-K for occupancy is wanted
  bool tune = true;                // the tuner may time tile variants
  // Enabled at device creation (a host's adopted device is not assumed to
  // have them): 16-bit storage buffers, VK_NV_cooperative_matrix.
  bool fp16_storage = false, coop_matrix = false;
  std::string fast;  // the ContextOptions::fast it came from ("" = defaults), for explanations
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
  // The heap memory type `type` draws from.
  uint32_t memory_heap(uint32_t type) const;
  // Device memory this context's arenas hold, per heap. claim_memory counts
  // `bytes` more for `what`, or throws fovea::Error (one line: what needs how
  // many bytes, the heap's size and what Fovea holds of it) when they do
  // not fit the heap as the device model has it (FOVEA_LIMITS heap=).
  void claim_memory(uint32_t heap, uint64_t bytes, const std::string& what);
  void release_memory(uint32_t heap, uint64_t bytes);
  uint64_t memory_in_use(uint32_t heap) const;
  // "memory heap 0 of llvmpipe (...) has 2048 MiB (2147483648 bytes)", and the FOVEA_LIMITS heap= clamp.
  std::string heap_text(uint32_t heap) const;

  // Vulkan objects alive on this device that src/gpu made, counted where it
  // creates and destroys them: a test of leaks watches them.
  struct LiveObjects {
    std::atomic<int64_t> memory{0}, buffers{0}, buffer_views{0}, pipelines{0}, command_pools{0},
        descriptor_pools{0}, fences{0}, query_pools{0};
    int64_t total() const {
      return memory + buffers + buffer_views + pipelines + command_pools + descriptor_pools + fences + query_pools;
    }
  };
  LiveObjects& live_objects() { return live_; }

  // vkQueueSubmit to queue(): a queue must be externally synchronised, and
  // Trainers sharing this context may submit from their own threads.
  VkResult submit(const VkSubmitInfo& si, VkFence fence);
  // A replayed program's submission (Replayer::submit): submit(), or
  // VK_ERROR_DEVICE_LOST without submitting at ContextOptions::lose_device_at_submit.
  VkResult submit_program(const VkSubmitInfo& si, VkFence fence);

  // One-off work outside the training loop (uploads, readbacks): records
  // through `fn`, submits, waits. Ends with a barrier that makes transfer and
  // shader writes visible to every later command and to the host.
  // Thread-safe: one at a time (they share a pool and a fence).
  template <class F>
  void run_once(F&& fn) {
    std::lock_guard<std::mutex> lock(once_mutex_);
    VkCommandBuffer cmd = begin_once();
    fn(cmd);
    end_once(cmd);
  }

  // The kernel switches (ContextOptions resolved against the device):
  // ops::KernelPolicy decides every variant from them and the device model.
  // portable_kernels: portable kernels only (FOVEA_FAST=0, the older
  // FOVEA_KERNELS=portable, FOVEA_LIMITS=vulkan11-min, or tests comparing the
  // two). tune: the tuner may time variants (ContextOptions::tune).
  // half_precision: the paths that round operands to fp16 are wanted (on GPUs
  // by default, not on CPU implementations; FOVEA_FAST=fp16 on, fp32 or 0
  // off). occupancy_split_k: split-K for occupancy is wanted (GPUs by
  // default). Tests set them themselves.
  bool portable_kernels = false;
  bool tune = true;
  bool half_precision = false;
  bool occupancy_split_k = false;
  KernelOptions kernel_options() const;

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
  std::string fast_;  // ContextOptions::fast
  uint64_t lose_device_at_submit_ = 0;           // ContextOptions::lose_device_at_submit
  std::atomic<uint64_t> program_submits_{0};     // submit_program's calls
  std::unique_ptr<KernelTable> kernels_;
  LiveObjects live_;
  std::mutex once_mutex_, queue_mutex_;
  mutable std::mutex memory_mutex_;
  std::array<uint64_t, VK_MAX_MEMORY_HEAPS> heap_used_{};
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
