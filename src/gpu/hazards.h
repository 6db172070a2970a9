// Hazard analysis for a sequence of compute dispatches, without Vulkan: each
// dispatch declares the buffer ranges it reads and writes, and the tracker
// answers which barrier the dispatch needs in front of it. The recorder turns
// the answer into vkCmdPipelineBarrier; tests assert on it directly.
//
// Model (Vulkan memory model, one queue, compute stage only):
//  - read-after-write needs a memory dependency: src SHADER_WRITE, dst SHADER_READ
//    on the written range;
//  - write-after-write needs one too: src SHADER_WRITE, dst SHADER_WRITE;
//  - write-after-read needs only an execution dependency (no access masks).
// Any barrier is a compute->compute execution dependency covering every
// earlier dispatch, so after it no earlier read can race a later write. A
// write stays "pending" until barriers have made it visible to both later
// reads and later writes.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace fovea::gpu {

// A byte range of one VkBuffer; `buffer` is the handle as an integer so this
// file needs no Vulkan header.
struct ByteRange {
  uint64_t buffer = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  bool overlaps(const ByteRange& o) const {
    return buffer == o.buffer && offset < o.offset + o.size && o.offset < offset + size;
  }
  bool operator==(const ByteRange&) const = default;
};

enum class Access : uint8_t { Read, Write, ReadWrite };

struct Use {
  ByteRange range;
  Access access = Access::Read;
  bool reads() const { return access != Access::Write; }
  bool writes() const { return access != Access::Read; }
};

// One buffer memory barrier: make `range` (written earlier) available and
// visible to later reads and/or writes.
struct MemoryBarrier {
  ByteRange range;
  bool to_read = false;   // a read-after-write hazard on this range
  bool to_write = false;  // a write-after-write hazard on this range
};

struct BarrierPlan {
  bool execution = false;              // a compute->compute dependency is needed
  bool write_after_read = false;       // needed at least for a WAR hazard
  std::vector<MemoryBarrier> memory;   // ranges needing a memory dependency
  bool empty() const { return !execution; }
};

class HazardTracker {
 public:
  // The barrier needed before a dispatch with `uses`, then records the uses.
  // Uses within one dispatch never conflict with each other.
  BarrierPlan add(std::span<const Use> uses);
  // Forget all history, as after a full barrier (the start of a step).
  void reset();

 private:
  struct PendingWrite {
    ByteRange range;
    bool visible_to_read = false;
    bool visible_to_write = false;
  };
  std::vector<PendingWrite> writes_;
  std::vector<ByteRange> reads_;  // reads not yet ordered before later writes
};

}  // namespace fovea::gpu
