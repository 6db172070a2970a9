#include "gpu/recorder.h"

#include <cstring>

#include "util/error.h"

namespace fovea::gpu {

void Program::set_params(const View& params) {
  if (params.size > kMaxParamBytes)
    throw Error("program " + name_ + ": the parameter block " + params.name + " has " + std::to_string(params.size) +
                " bytes, more than " + std::to_string(kMaxParamBytes));
  params_ = params;
}

void Program::add(std::string label, const Kernel& k, std::initializer_list<Binding> b,
                  const void* push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz) {
  uint32_t storage = 0, texel = 0;
  for (const Binding& bb : b) {
    if (!bb.texel) {
      ++storage;
      continue;
    }
    ++texel;
    const uint64_t texel_bytes = bb.scalar ? 4 : 16;
    if (bb.access != Access::Read || bb.view.size % texel_bytes != 0 ||
        bb.view.offset % ctx_.info().view_alignment != 0 ||
        bb.view.size / texel_bytes > ctx_.info().max_texel_elements)
      throw Error("dispatch " + label + ": view " + bb.view.name + " cannot be a texel buffer");
  }
  if (storage > kMaxStorageBindings || texel > kMaxTexelBindings)
    throw Error("dispatch " + label + ": too many bindings");
  const DeviceInfo& info = ctx_.info();
  if (gx == 0 || gy == 0 || gz == 0 || gx > info.max_group_count_x || gy > 65535 || gz > 65535)
    throw Error("dispatch " + label + ": workgroup count out of the device's range");
  Dispatch d;
  d.label = std::move(label);
  d.kernel = &k;
  d.bindings.assign(b.begin(), b.end());
  for (const Binding& bb : d.bindings) {
    if (!bb.view.valid()) throw Error("dispatch " + d.label + ": unbound view " + bb.view.name);
    // Ops that can bind windows of a larger view do (ops::row_windows); any
    // other binding over the range is refused here, never left to the driver.
    if (!bb.texel && bb.view.size > info.max_storage_range)
      throw Error("dispatch " + d.label + ": buffer " + bb.view.name + " of " +
                  std::to_string(bb.view.size) + " bytes is over the device's storage-buffer range of " +
                  std::to_string(info.max_storage_range) +
                  " bytes, and this op does not split it; use a smaller batch");
  }
  std::memcpy(d.push.data(), push, push_size);
  d.push_size = push_size;
  d.groups[0] = gx;
  d.groups[1] = gy;
  d.groups[2] = gz;
  dispatches_.push_back(std::move(d));
}

void Program::cost(double flops, double bytes) {
  if (dispatches_.empty()) throw Error("program " + name_ + ": a cost with no dispatch");
  Dispatch& d = dispatches_.back();
  d.flops = flops;
  d.bytes = bytes;
  d.exact_cost = true;
}

DispatchCost cost_of(const Dispatch& d) {
  if (d.exact_cost) return {d.flops, d.bytes, true};
  DispatchCost c;
  for (const Binding& b : d.bindings) {
    const double n = double(b.view.size);
    c.bytes += b.access == Access::ReadWrite ? 2 * n : n;
    if (b.access != Access::Read) c.flops += n / 4;
  }
  return c;
}

static std::vector<Use> uses_of(const Dispatch& d, uint32_t slot) {
  std::vector<Use> uses;
  for (const Binding& b : d.bindings) uses.push_back({b.view.range(slot), b.access});
  return uses;
}

void Program::mark_host_exchange(const View& reads, uint32_t tag, uint32_t value) {
  marks_.push_back({dispatches_.size(), reads, tag, value});
}

Program::Part Program::part(size_t k) const {
  if (k >= part_count()) throw Error("internal: program " + name_ + " has no part " + std::to_string(k + 1));
  Part p;
  p.first = k == 0 ? 0 : marks_[k - 1].at;
  p.end = k < marks_.size() ? marks_[k].at : dispatches_.size();
  p.name = k == 0 ? name_ : name_ + "." + std::to_string(k);
  return p;
}

std::vector<View> Program::part_host_reads(size_t k) const {
  if (k < marks_.size()) return {marks_[k].reads};
  return host_reads_;
}

View Program::scratch(const std::string& name, uint64_t bytes) {
  // Named after the part being recorded (the part that uses it).
  if (shared_scratch_) return shared_scratch_->reserve(part(marks_.size()).name + ":" + name, bytes);
  if (!scratch_) scratch_ = std::make_unique<Arena>(ctx_, MemoryKind::Device, name_ + ".scratch");
  return scratch_->reserve(name, bytes);
}

uint64_t Program::scratch_bytes() const { return scratch_ ? scratch_->size() : 0; }

void Program::relocate(const std::function<void(View&)>& f) {
  for (Dispatch& d : dispatches_)
    for (Binding& b : d.bindings) f(b.view);
  f(params_);
  for (View& v : host_reads_) f(v);
}

void Program::commit_scratch() {
  if (scratch_) scratch_->commit();
}

std::vector<BarrierPlan> Program::barrier_plans(uint32_t slot) {
  commit_scratch();  // ranges need the scratch buffer's handle
  HazardTracker t;
  std::vector<BarrierPlan> plans;
  size_t mark = 0;
  for (size_t i = 0; i < dispatches_.size(); ++i) {
    // A part starts after a full barrier, like a program.
    for (; mark < marks_.size() && marks_[mark].at == i; ++mark) t.reset();
    plans.push_back(t.add(uses_of(dispatches_[i], slot)));
  }
  return plans;
}

Replayer::Replayer(Program& program, uint32_t slots, bool profile, size_t part)
    : program_(program),
      part_(program.part(part)),
      part_index_(part),
      ctx_(program.context()),
      profile_(profile && program.context().info().timestamps) {
  program_.commit_scratch();
  if (!program_.params().valid()) throw Error("program " + program_.name() + " has no parameter ring");
  if (program_.params().slots < slots) throw Error("program " + program_.name() + ": parameter ring has too few slots");
  VkDevice dev = ctx_.device();
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.queueFamilyIndex = ctx_.queue_family();
  check(vkCreateCommandPool(dev, &pci, nullptr, &pool_), "vkCreateCommandPool");
  Context::LiveObjects& live = ctx_.live_objects();
  ++live.command_pools;
  uint32_t sets = std::max<uint32_t>(1, uint32_t(dispatch_count()) * slots);
  VkDescriptorPoolSize sizes[] = {{VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, sets},
                                  {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, sets * kMaxStorageBindings},
                                  {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, sets * kMaxTexelBindings}};
  VkDescriptorPoolCreateInfo dci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dci.maxSets = sets;
  dci.poolSizeCount = 3;
  dci.pPoolSizes = sizes;
  check(vkCreateDescriptorPool(dev, &dci, nullptr, &descriptors_), "vkCreateDescriptorPool");
  ++live.descriptor_pools;
  cmds_.resize(slots);
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = slots;
  check(vkAllocateCommandBuffers(dev, &ai, cmds_.data()), "vkAllocateCommandBuffers");
  fences_.resize(slots);
  pending_.assign(slots, false);
  for (auto& f : fences_) {
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(vkCreateFence(dev, &fci, nullptr, &f), "vkCreateFence");
    ++live.fences;
  }
  if (profile_) {
    queries_.resize(slots);
    for (auto& q : queries_) {
      VkQueryPoolCreateInfo qci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
      qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
      qci.queryCount = uint32_t(dispatch_count()) + 1;
      check(vkCreateQueryPool(dev, &qci, nullptr, &q), "vkCreateQueryPool");
      ++live.query_pools;
    }
    op_ms_.assign(dispatch_count(), 0.0);
  }
  sets_.resize(slots);
  plans_.resize(slots);
  for (uint32_t s = 0; s < slots; ++s) {
    prepare(s);
    record(s);
  }
}

Replayer::~Replayer() {
  VkDevice dev = ctx_.device();
  for (uint32_t s = 0; s < slots(); ++s)
    if (pending_[s]) vkWaitForFences(dev, 1, &fences_[s], VK_TRUE, UINT64_MAX);
  Context::LiveObjects& live = ctx_.live_objects();
  for (auto q : queries_) vkDestroyQueryPool(dev, q, nullptr), --live.query_pools;
  for (auto v : texel_views_) vkDestroyBufferView(dev, v, nullptr), --live.buffer_views;
  for (auto f : fences_)
    if (f) vkDestroyFence(dev, f, nullptr), --live.fences;
  if (descriptors_) vkDestroyDescriptorPool(dev, descriptors_, nullptr), --live.descriptor_pools;
  if (pool_) vkDestroyCommandPool(dev, pool_, nullptr), --live.command_pools;
}

// Allocates and writes the descriptor sets of every dispatch for `slot`
// (slot k binds ring slot k of every ring view); the sets never change
// afterwards, so any command buffer recorded for the slot may bind them.
void Replayer::prepare(uint32_t slot) {
  VkDevice dev = ctx_.device();
  const View& params = program_.params();
  sets_[slot].resize(dispatch_count());
  for (size_t i = 0; i < dispatch_count(); ++i) {
    const Dispatch& d = program_.dispatches()[part_.first + i];
    VkDescriptorSetAllocateInfo dai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    dai.descriptorPool = descriptors_;
    dai.descriptorSetCount = 1;
    dai.pSetLayouts = &d.kernel->set_layout;
    VkDescriptorSet set;
    check(vkAllocateDescriptorSets(dev, &dai, &set), "vkAllocateDescriptorSets");
    sets_[slot][i] = set;
    constexpr uint32_t kMax = 1 + kMaxStorageBindings + kMaxTexelBindings;
    VkDescriptorBufferInfo infos[kMax];
    VkBufferView texels[kMax];
    VkWriteDescriptorSet writes[kMax];
    uint32_t n = 0, next_storage = 1, next_texel = kFirstTexelBinding;
    auto write = [&](uint32_t binding, VkDescriptorType type) -> VkWriteDescriptorSet& {
      writes[n] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
      writes[n].dstSet = set;
      writes[n].dstBinding = binding;
      writes[n].descriptorCount = 1;
      writes[n].descriptorType = type;
      return writes[n];
    };
    infos[n] = {params.buffer(), params.offset_of(slot), params.size};
    write(0, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER).pBufferInfo = &infos[n];
    ++n;
    for (const Binding& b : d.bindings) {
      if (b.texel) {
        VkBufferViewCreateInfo vci{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
        vci.buffer = b.view.buffer();
        vci.format = b.uint     ? VK_FORMAT_R32_UINT
                     : b.scalar ? VK_FORMAT_R32_SFLOAT
                                : VK_FORMAT_R32G32B32A32_SFLOAT;
        vci.offset = b.view.offset_of(slot);
        vci.range = b.view.size;
        check(vkCreateBufferView(dev, &vci, nullptr, &texels[n]), "vkCreateBufferView");
        texel_views_.push_back(texels[n]);
        ++ctx_.live_objects().buffer_views;
        write(next_texel++, VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER).pTexelBufferView = &texels[n];
      } else {
        infos[n] = {b.view.buffer(), b.view.offset_of(slot), b.view.size};
        write(next_storage++, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER).pBufferInfo = &infos[n];
      }
      ++n;
    }
    vkUpdateDescriptorSets(dev, n, writes, 0, nullptr);
  }
  plans_[slot] = program_.barrier_plans(slot);
}

void Replayer::record_range(VkCommandBuffer cmd, uint32_t slot, size_t first, size_t last, bool timestamps) const {
  const auto& ds = program_.dispatches();
  const std::vector<BarrierPlan>& plans = plans_[slot];
  VkPipeline bound = VK_NULL_HANDLE;
  for (size_t i = first; i < last; ++i) {
    const Dispatch& d = ds[part_.first + i];
    const BarrierPlan& plan = plans[part_.first + i];
    if (plan.execution && !program_.omit_barriers_for_test) {
      std::vector<VkBufferMemoryBarrier> bufs;
      for (const MemoryBarrier& m : plan.memory) {
        VkBufferMemoryBarrier b{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
        b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
        b.dstAccessMask = (m.to_read ? VK_ACCESS_SHADER_READ_BIT : 0) |
                          (m.to_write ? VK_ACCESS_SHADER_WRITE_BIT : 0);
        b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
        b.buffer = reinterpret_cast<VkBuffer>(m.range.buffer);
        b.offset = m.range.offset;
        b.size = m.range.size;
        bufs.push_back(b);
      }
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 0, nullptr,
                           uint32_t(bufs.size()), bufs.data(), 0, nullptr);
    }
    if (d.kernel->pipeline != bound) {
      vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d.kernel->pipeline);
      bound = d.kernel->pipeline;
    }
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d.kernel->layout, 0, 1, &sets_[slot][i], 0,
                            nullptr);
    if (d.push_size)
      vkCmdPushConstants(cmd, d.kernel->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, d.push_size,
                         d.push.data());
    vkCmdDispatch(cmd, d.groups[0], d.groups[1], d.groups[2]);
    if (timestamps)
      vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, queries_[slot], uint32_t(i + 1));
  }
}

void Replayer::record_into(VkCommandBuffer cmd, uint32_t slot, size_t first, size_t last) const {
  if (slot >= slots() || first > last || last > dispatch_count())
    throw Error("program " + part_.name + ": no dispatches " + std::to_string(first) + ".." +
                std::to_string(last) + " in slot " + std::to_string(slot));
  record_range(cmd, slot, first, last, false);
}

void Replayer::record(uint32_t slot) {
  VkCommandBuffer cmd = cmds_[slot];
  const size_t n = dispatch_count();
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  check(vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
  if (profile_) vkCmdResetQueryPool(cmd, queries_[slot], 0, uint32_t(n) + 1);

  // The step follows the previous one on the queue: its writes (weights,
  // gradients, activations) become visible, and its reads finish before we
  // overwrite anything.
  VkMemoryBarrier entry{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  entry.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  entry.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  if (!program_.omit_barriers_for_test)
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &entry, 0, nullptr, 0, nullptr);
  if (profile_)
    vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, queries_[slot], 0);
  record_range(cmd, slot, 0, n, profile_);
  const std::vector<View> host_reads = program_.part_host_reads(part_index_);
  if (!host_reads.empty() && !program_.omit_barriers_for_test) {
    std::vector<VkBufferMemoryBarrier> bufs;
    for (const View& v : host_reads) {
      VkBufferMemoryBarrier b{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
      b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
      b.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
      b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
      b.buffer = v.buffer();
      b.offset = v.offset_of(slot);
      b.size = v.size;
      bufs.push_back(b);
    }
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0,
                         0, nullptr, uint32_t(bufs.size()), bufs.data(), 0, nullptr);
  }
  check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
}

void Replayer::wait(uint32_t slot) {
  if (!pending_[slot]) return;
  VkDevice dev = ctx_.device();
  VkResult r = vkWaitForFences(dev, 1, &fences_[slot], VK_TRUE, UINT64_MAX);
  if (r == VK_ERROR_DEVICE_LOST) throw Error("the Vulkan device was lost (driver reset or crash)");
  check(r, "vkWaitForFences");
  check(vkResetFences(dev, 1, &fences_[slot]), "vkResetFences");
  pending_[slot] = false;
  if (profile_) {
    size_t n = dispatch_count() + 1;
    std::vector<uint64_t> t(n);
    check(vkGetQueryPoolResults(dev, queries_[slot], 0, uint32_t(n), n * sizeof(uint64_t), t.data(),
                                sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          "vkGetQueryPoolResults");
    double period_ms = ctx_.info().timestamp_period_ns * 1e-6;
    for (size_t i = 0; i + 1 < n; ++i) op_ms_[i] += double(t[i + 1] - t[i]) * period_ms;
    ++profiled_steps_;
  }
}

uint32_t Replayer::acquire() {
  uint32_t slot = next_;
  next_ = (next_ + 1) % slots();
  wait(slot);
  return slot;
}

void Replayer::submit(uint32_t slot) {
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmds_[slot];
  VkResult r = ctx_.submit_program(si, fences_[slot]);
  if (r == VK_ERROR_DEVICE_LOST) throw Error("the Vulkan device was lost (driver reset or crash)");
  check(r, "vkQueueSubmit");
  pending_[slot] = true;
}

void Replayer::finish() {
  for (uint32_t s = 0; s < slots(); ++s) wait(s);
  next_ = 0;
}

void Replayer::reset_profile() {
  op_ms_.assign(op_ms_.size(), 0.0);
  profiled_steps_ = 0;
}

std::vector<ProfileEntry> Replayer::profile() const {
  std::vector<ProfileEntry> out;
  const auto& ds = program_.dispatches();
  for (size_t i = 0; i < op_ms_.size(); ++i) out.push_back({ds[part_.first + i].label, op_ms_[i]});
  return out;
}

namespace {
void memory_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src,
                    VkPipelineStageFlags dst_stage, VkAccessFlags dst) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = src;
  b.dstAccessMask = dst;
  vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &b, 0, nullptr, 0, nullptr);
}
constexpr VkPipelineStageFlags kFoveaStages = VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
}  // namespace

void external_entry_barrier(VkCommandBuffer cmd) {
  memory_barrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT, kFoveaStages,
                 VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT |
                     VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_UNIFORM_READ_BIT);
}

void transfer_to_compute_barrier(VkCommandBuffer cmd) {
  memory_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
}

void program_barrier(VkCommandBuffer cmd) {
  memory_barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                 VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

void external_exit_barrier(VkCommandBuffer cmd) {
  memory_barrier(cmd, kFoveaStages, VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT,
                 VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                 VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT | VK_ACCESS_HOST_READ_BIT);
}

}  // namespace fovea::gpu
