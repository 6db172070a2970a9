#include "gpu/memory.h"

#include <cstring>
#include <utility>

#include "gpu/context.h"
#include "util/error.h"

namespace fovea::gpu {

VkBuffer View::buffer() const { return arena ? arena->buffer() : VK_NULL_HANDLE; }

ByteRange View::range(uint32_t slot) const {
  return {reinterpret_cast<uint64_t>(buffer()), offset_of(slot), size};
}

void* View::host(uint32_t slot) const {
  if (!arena || !arena->mapped()) throw Error("view " + name + " is not host-visible");
  return arena->mapped() + offset_of(slot);
}

View View::sub(uint64_t begin, uint64_t bytes, const std::string& sub_name) const {
  if (begin + bytes > size) throw Error("view " + name + ": sub-range out of bounds");
  View v = *this;
  v.offset += begin;
  v.size = bytes;
  v.name = sub_name;
  return v;
}

Arena::Arena(Context& ctx, MemoryKind kind, std::string name)
    : ctx_(ctx), kind_(kind), name_(std::move(name)) {
  align_ = std::max<uint64_t>(ctx.info().view_alignment, 64);
}

Arena::~Arena() {
  VkDevice dev = ctx_.device();
  if (mapped_) vkUnmapMemory(dev, memory_);
  Context::LiveObjects& live = ctx_.live_objects();
  if (buffer_) vkDestroyBuffer(dev, buffer_, nullptr), --live.buffers;
  if (memory_) vkFreeMemory(dev, memory_, nullptr), --live.memory;
  if (claimed_) ctx_.release_memory(heap_, claimed_);
}

View Arena::reserve(const std::string& name, uint64_t bytes, uint32_t slots) {
  if (committed()) throw Error("arena " + name_ + ": reserve after commit");
  if (bytes == 0) bytes = 4;
  uint64_t stride = (bytes + align_ - 1) / align_ * align_;
  View v;
  v.arena = this;
  v.offset = size_;
  v.size = bytes;
  v.slots = std::max<uint32_t>(slots, 1);
  v.slot_stride = v.slots > 1 ? stride : 0;
  v.name = name;
  size_ += stride * v.slots;
  views_.push_back(v);
  return v;
}

void Arena::relayout(const std::vector<uint64_t>& offsets, uint64_t size) {
  if (committed()) throw Error("arena " + name_ + ": relayout after commit");
  if (offsets.size() != views_.size()) throw Error("arena " + name_ + ": relayout needs one offset per view");
  for (size_t k = 0; k < views_.size(); ++k) {
    const View& v = views_[k];
    const uint64_t span = v.slots > 1 ? v.slot_stride * v.slots : v.size;
    if (offsets[k] % align_ || offsets[k] + span > size)
      throw Error("arena " + name_ + ": view " + v.name + " placed outside the arena or unaligned");
    views_[k].offset = offsets[k];
  }
  size_ = size;
}

namespace {
// The memory properties an arena of `kind` needs (required, preferred).
std::pair<VkMemoryPropertyFlags, VkMemoryPropertyFlags> memory_flags(MemoryKind kind) {
  constexpr VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  switch (kind) {
    case MemoryKind::Device:
      return {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0};
    case MemoryKind::Upload:
      return {host, 0};
    case MemoryKind::Readback:
      return {host, VK_MEMORY_PROPERTY_HOST_CACHED_BIT};
  }
  return {0, 0};
}
}  // namespace

// Counts `bytes` against the heap of memory type `type` (Context::claim_memory),
// in place of what the arena counted before.
void Arena::claim(uint32_t type, uint64_t bytes, const std::string& what) {
  if (claimed_) ctx_.release_memory(heap_, claimed_);
  claimed_ = 0;
  heap_ = ctx_.memory_heap(type);
  ctx_.claim_memory(heap_, bytes, what);
  claimed_ = bytes;
}

void Arena::commit() {
  if (committed()) return;
  const std::string what = "the " + name_ + " arena" + (purpose_.empty() ? "" : " of " + purpose_);
  const auto [required, preferred] = memory_flags(kind_);
  // Before any Vulkan object: the bytes against the heap the arena would
  // draw from (the device's memory, as FOVEA_LIMITS heap= may lower it).
  claim(ctx_.memory_type(~0u, required, preferred), size_, what);
  // A view may exceed the storage-buffer range (ops bind windows of it; the
  // recorder refuses a binding over the range), but the arena is one buffer
  // in one allocation.
  const uint64_t max_alloc = ctx_.info().max_allocation_bytes;
  if (max_alloc && size_ > max_alloc)
    throw Error(what + " needs " + std::to_string(size_ >> 20) + " MiB (" + std::to_string(size_) +
                " bytes), more than the device's largest allocation (maxMemoryAllocationSize) of " +
                std::to_string(max_alloc >> 20) + " MiB; use a smaller batch or model");
  VkDevice dev = ctx_.device();
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = std::max<uint64_t>(size_, align_);
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
              VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
              VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(dev, &bci, nullptr, &buffer_), "vkCreateBuffer");
  ++ctx_.live_objects().buffers;
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(dev, buffer_, &req);
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = ctx_.memory_type(req.memoryTypeBits, required, preferred);
  claim(ai.memoryTypeIndex, req.size, what);  // the exact size and type
  VkResult r = vkAllocateMemory(dev, &ai, nullptr, &memory_);
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
    memory_ = VK_NULL_HANDLE;
    throw Error("out of device memory: " + what + " needs " + std::to_string(req.size >> 20) + " MiB (" +
                std::to_string(req.size) + " bytes) and vkAllocateMemory refused them (" + result_name(r) + "); " +
                ctx_.heap_text(heap_) + ", " + std::to_string((ctx_.memory_in_use(heap_) - req.size) >> 20) +
                " MiB of it in use by Fovea; use a smaller batch or model");
  }
  check(r, "vkAllocateMemory");
  ++ctx_.live_objects().memory;
  check(vkBindBufferMemory(dev, buffer_, memory_, 0), "vkBindBufferMemory");
  if (kind_ != MemoryKind::Device) {
    void* p = nullptr;
    check(vkMapMemory(dev, memory_, 0, VK_WHOLE_SIZE, 0, &p), "vkMapMemory");
    mapped_ = static_cast<char*>(p);
    std::memset(mapped_, 0, size_);
  }
  for (View& v : views_) v.arena = this;
}

namespace {
struct Staging {
  Context& ctx;
  Arena arena;
  View view;
  Staging(Context& c, uint64_t bytes) : ctx(c), arena(c, MemoryKind::Readback, "staging") {
    view = arena.reserve("staging", bytes);
    arena.commit();
  }
};
}  // namespace

void upload(Context& ctx, const View& dst, const void* data, uint64_t bytes, uint32_t slot) {
  if (bytes > dst.size) throw Error("upload to " + dst.name + ": too many bytes");
  if (dst.arena->mapped()) {  // host-visible: write directly (GPU is idle between steps)
    std::memcpy(dst.host(slot), data, bytes);
    return;
  }
  Staging s(ctx, bytes);
  std::memcpy(s.view.host(), data, bytes);
  ctx.run_once([&](VkCommandBuffer cmd) {
    VkBufferCopy c{s.view.offset, dst.offset_of(slot), bytes};
    vkCmdCopyBuffer(cmd, s.view.buffer(), dst.buffer(), 1, &c);
  });
}

void download(Context& ctx, const View& src, void* data, uint64_t bytes, uint32_t slot) {
  if (bytes > src.size) throw Error("download from " + src.name + ": too many bytes");
  if (src.arena->mapped()) {
    std::memcpy(data, src.host(slot), bytes);
    return;
  }
  Staging s(ctx, bytes);
  ctx.run_once([&](VkCommandBuffer cmd) {
    VkBufferCopy c{src.offset_of(slot), s.view.offset, bytes};
    vkCmdCopyBuffer(cmd, src.buffer(), s.view.buffer(), 1, &c);
  });
  std::memcpy(data, s.view.host(), bytes);
}

}  // namespace fovea::gpu
