#include "gpu/hazards.h"

#include <algorithm>

namespace fovea::gpu {

BarrierPlan HazardTracker::add(std::span<const Use> uses) {
  BarrierPlan plan;
  auto memory_for = [&](const ByteRange& r) -> MemoryBarrier& {
    for (auto& m : plan.memory)
      if (m.range == r) return m;
    plan.memory.push_back({r, false, false});
    return plan.memory.back();
  };
  for (const Use& u : uses) {
    for (const PendingWrite& w : writes_) {
      if (!w.range.overlaps(u.range)) continue;
      if (u.reads() && !w.visible_to_read) memory_for(w.range).to_read = true;
      if (u.writes() && !w.visible_to_write) memory_for(w.range).to_write = true;
    }
    if (u.writes())
      for (const ByteRange& r : reads_)
        if (r.overlaps(u.range)) plan.write_after_read = true;
  }
  plan.execution = plan.write_after_read || !plan.memory.empty();

  if (plan.execution) {
    reads_.clear();  // the execution dependency orders every earlier read
    for (const MemoryBarrier& m : plan.memory)
      for (PendingWrite& w : writes_)
        if (w.range == m.range) {
          w.visible_to_read |= m.to_read;
          w.visible_to_write |= m.to_write;
        }
    std::erase_if(writes_, [](const PendingWrite& w) {
      return w.visible_to_read && w.visible_to_write;
    });
  }
  for (const Use& u : uses) {
    if (u.reads()) reads_.push_back(u.range);
    if (u.writes()) writes_.push_back({u.range, false, false});
  }
  return plan;
}

void HazardTracker::reset() {
  writes_.clear();
  reads_.clear();
}

}  // namespace fovea::gpu
