// Device memory as a few large allocations carved into named views. An arena
// is planned first (reserve names and sizes), then committed: one VkBuffer
// and one VkDeviceMemory per arena. Nothing is allocated once training runs.
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>
#include <vector>

#include "gpu/hazards.h"

namespace fovea::gpu {

class Context;
class Arena;

enum class MemoryKind {
  Device,    // DEVICE_LOCAL: weights, activations, gradients
  Upload,    // HOST_VISIBLE|COHERENT, written by the host: batches, step params
  Readback,  // HOST_VISIBLE|COHERENT (CACHED preferred): metric sums
};

// A named byte range of an arena. A view with slot_stride != 0 is a ring:
// slot k is [offset + k*slot_stride, +size); programs recorded per slot bind
// the slot's range.
struct View {
  Arena* arena = nullptr;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t slot_stride = 0;
  uint32_t slots = 1;
  std::string name;

  bool valid() const { return arena != nullptr && size > 0; }
  VkBuffer buffer() const;
  uint64_t offset_of(uint32_t slot) const { return offset + (slot_stride ? slot * slot_stride : 0); }
  ByteRange range(uint32_t slot) const;
  // Host pointer to slot `slot` (Upload/Readback arenas only).
  void* host(uint32_t slot = 0) const;
  // A sub-range of this view (same slots): bytes [begin, begin+bytes).
  View sub(uint64_t begin, uint64_t bytes, const std::string& sub_name) const;
};

class Arena {
 public:
  Arena(Context& ctx, MemoryKind kind, std::string name);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Plans a view of `bytes` (rounded up to the device's storage alignment);
  // with slots > 1 a ring of that many slots. Only before commit().
  View reserve(const std::string& name, uint64_t bytes, uint32_t slots = 1);
  // Creates the buffer and allocates its memory; first checks the bytes
  // against the device's memory heap (Context::claim_memory) and refuses,
  // with one line naming both, what does not fit. Throws fovea::Error.
  void commit();
  // What the arena serves, for error messages ("model mlp.json at batch 64").
  void set_purpose(std::string purpose) { purpose_ = std::move(purpose); }
  bool committed() const { return buffer_ != VK_NULL_HANDLE; }
  // Moves view k (in views() order) to offsets[k] and sets the arena's size:
  // a planner's layout, where views whose uses never overlap in time share
  // bytes. Only before commit(); copies of the views taken earlier keep the
  // old offsets (the planner translates them).
  void relayout(const std::vector<uint64_t>& offsets, uint64_t size);

  VkBuffer buffer() const { return buffer_; }
  uint64_t size() const { return size_; }
  char* mapped() const { return mapped_; }
  MemoryKind kind() const { return kind_; }
  Context& context() const { return ctx_; }
  const std::string& name() const { return name_; }
  // Reserved views in order, for the plan printer.
  const std::vector<View>& views() const { return views_; }

 private:
  Context& ctx_;
  MemoryKind kind_;
  std::string name_;
  uint64_t size_ = 0;
  uint64_t align_ = 256;
  std::vector<View> views_;
  void claim(uint32_t type, uint64_t bytes, const std::string& what);
  std::string purpose_;
  uint32_t heap_ = 0;
  uint64_t claimed_ = 0;  // bytes counted against heap_ (Context::claim_memory)
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  char* mapped_ = nullptr;
};

// Copies between host memory and any view through a temporary staging
// buffer (setup and tests only, never in the training loop).
void upload(Context& ctx, const View& dst, const void* data, uint64_t bytes, uint32_t slot = 0);
void download(Context& ctx, const View& src, void* data, uint64_t bytes, uint32_t slot = 0);

}  // namespace fovea::gpu
