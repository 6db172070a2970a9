// Training inside the host's frame, as an engine would run it: the host owns
// the instance, the device, the queue and the command buffers; each frame it
// records its own compute work (frame.comp writes an image) and Fovea's
// training step, or one part of a sliced step, into one command buffer and
// submits it once, two frames in flight. Timestamps around the two halves
// give the frame's GPU time and Fovea's share of it. Runs under the
// validation layer with synchronisation validation; any message fails it.
//
//   fovea_embed_frame DATA_DIR MODEL_SPEC [FRAMES] [BUDGET_MS]
// BUDGET_MS > 0: sliced mode, each frame records a part of at most about
// that much GPU time (Trainer::set_part_budget); 0: a whole step a frame.
#include <fovea/data.hpp>
#include <fovea/fovea.hpp>
#include <vulkan/vulkan.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine.h"

using namespace embed;

namespace {

constexpr uint32_t kSize = 256;        // the host's image, kSize x kSize pixels
constexpr uint32_t kInFlight = 2;      // frames in flight
constexpr uint32_t kStamps = 3;        // per frame: start, host work done, Fovea done

// The host's own pipeline: frame.comp writing its image buffer.
struct HostWork {
  HostBuffer image;
  VkShaderModule shader = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkDescriptorPool pool = VK_NULL_HANDLE;
  VkDescriptorSet set = VK_NULL_HANDLE;
};

HostWork create_host_work(const Engine& e, const std::string& spv_path) {
  HostWork w;
  w.image = make_buffer(e, nullptr, 4ull * kSize * kSize);
  std::ifstream f(spv_path, std::ios::binary);
  const std::vector<char> code{std::istreambuf_iterator<char>(f), {}};
  if (code.empty() || code.size() % 4) die("cannot read the SPIR-V of frame.comp: " + spv_path);
  VkShaderModuleCreateInfo sci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  sci.codeSize = code.size();
  sci.pCode = reinterpret_cast<const uint32_t*>(code.data());
  vk(vkCreateShaderModule(e.device, &sci, nullptr, &w.shader), "vkCreateShaderModule");
  VkDescriptorSetLayoutBinding b{0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo dli{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dli.bindingCount = 1;
  dli.pBindings = &b;
  vk(vkCreateDescriptorSetLayout(e.device, &dli, nullptr, &w.set_layout), "vkCreateDescriptorSetLayout");
  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, 8};
  VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pli.setLayoutCount = 1;
  pli.pSetLayouts = &w.set_layout;
  pli.pushConstantRangeCount = 1;
  pli.pPushConstantRanges = &push;
  vk(vkCreatePipelineLayout(e.device, &pli, nullptr, &w.layout), "vkCreatePipelineLayout");
  VkComputePipelineCreateInfo cpi{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cpi.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  cpi.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cpi.stage.module = w.shader;
  cpi.stage.pName = "main";
  cpi.layout = w.layout;
  vk(vkCreateComputePipelines(e.device, VK_NULL_HANDLE, 1, &cpi, nullptr, &w.pipeline), "vkCreateComputePipelines");
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1};
  VkDescriptorPoolCreateInfo dpi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dpi.maxSets = 1;
  dpi.poolSizeCount = 1;
  dpi.pPoolSizes = &size;
  vk(vkCreateDescriptorPool(e.device, &dpi, nullptr, &w.pool), "vkCreateDescriptorPool");
  VkDescriptorSetAllocateInfo dai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  dai.descriptorPool = w.pool;
  dai.descriptorSetCount = 1;
  dai.pSetLayouts = &w.set_layout;
  vk(vkAllocateDescriptorSets(e.device, &dai, &w.set), "vkAllocateDescriptorSets");
  VkDescriptorBufferInfo info{w.image.buffer, 0, VK_WHOLE_SIZE};
  VkWriteDescriptorSet write{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
  write.dstSet = w.set;
  write.descriptorCount = 1;
  write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  write.pBufferInfo = &info;
  vkUpdateDescriptorSets(e.device, 1, &write, 0, nullptr);
  return w;
}

// The host's frame work: its own barrier (the previous frame's image writes
// before this frame's), then the shader.
void record_host_work(VkCommandBuffer cmd, const HostWork& w, uint32_t frame) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb,
                       0, nullptr, 0, nullptr);
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, w.pipeline);
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, w.layout, 0, 1, &w.set, 0, nullptr);
  const uint32_t push[2] = {frame, kSize};
  vkCmdPushConstants(cmd, w.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof push, push);
  vkCmdDispatch(cmd, kSize / 8, kSize / 8, 1);
}

void destroy_host_work(const Engine& e, HostWork& w) {
  vkDestroyDescriptorPool(e.device, w.pool, nullptr);
  vkDestroyPipeline(e.device, w.pipeline, nullptr);
  vkDestroyPipelineLayout(e.device, w.layout, nullptr);
  vkDestroyDescriptorSetLayout(e.device, w.set_layout, nullptr);
  vkDestroyShaderModule(e.device, w.shader, nullptr);
  destroy_buffer(e, w.image);
}

// The host's frame resources: a command buffer, a fence and three
// timestamps per frame in flight.
struct Frames {
  VkCommandPool pool = VK_NULL_HANDLE;
  VkCommandBuffer cmd[kInFlight] = {};
  VkFence fence[kInFlight] = {};
  bool submitted[kInFlight] = {};
  VkQueryPool queries = VK_NULL_HANDLE;
  double period_ns = 1;
};

Frames create_frames(const Engine& e) {
  Frames f;
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = e.family;
  vk(vkCreateCommandPool(e.device, &pci, nullptr, &f.pool), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = f.pool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = kInFlight;
  vk(vkAllocateCommandBuffers(e.device, &ai, f.cmd), "vkAllocateCommandBuffers");
  for (VkFence& fence : f.fence) {
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    vk(vkCreateFence(e.device, &fci, nullptr, &fence), "vkCreateFence");
  }
  VkQueryPoolCreateInfo qci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
  qci.queryCount = kInFlight * kStamps;
  vk(vkCreateQueryPool(e.device, &qci, nullptr, &f.queries), "vkCreateQueryPool");
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(e.physical, &props);
  f.period_ns = props.limits.timestampPeriod;
  return f;
}

void destroy_frames(const Engine& e, Frames& f) {
  vkDestroyQueryPool(e.device, f.queries, nullptr);
  for (VkFence fence : f.fence) vkDestroyFence(e.device, fence, nullptr);
  vkDestroyCommandPool(e.device, f.pool, nullptr);
}

// GPU milliseconds of a frame: the host's work and Fovea's.
struct FrameTimes {
  double host_ms = 0, fovea_ms = 0;
};

// Waits for frame slot `s` if it was submitted; returns its GPU times.
FrameTimes wait_frame(const Engine& e, Frames& f, uint32_t s) {
  if (!f.submitted[s]) return {};
  vk(vkWaitForFences(e.device, 1, &f.fence[s], VK_TRUE, UINT64_MAX), "vkWaitForFences");
  vk(vkResetFences(e.device, 1, &f.fence[s]), "vkResetFences");
  f.submitted[s] = false;
  uint64_t t[kStamps];
  vk(vkGetQueryPoolResults(e.device, f.queries, s * kStamps, kStamps, sizeof t, t, sizeof(uint64_t),
                           VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
     "vkGetQueryPoolResults");
  const double ms = f.period_ns * 1e-6;
  return {double(t[1] - t[0]) * ms, double(t[2] - t[1]) * ms};
}

}  // namespace

using namespace fovea::api;

namespace {

// The training side of the frame loop: which batch is next, the step being
// sliced, and the steps recorded but not finished with the frame that holds
// their last part.
struct Training {
  Trainer& trainer;
  const HostBuffer& images;
  const HostBuffer& labels;
  uint32_t count = 0;      // images in the buffers
  uint32_t next = 0;       // first image of the next batch
  bool sliced = false;
  StepTicket current;      // the sliced step whose parts are being recorded
  struct Pending {
    StepTicket ticket;
    uint64_t frame = 0;
  };
  std::deque<Pending> pending;
  std::vector<double> losses;  // per finished step

  // Records this frame's training work into cmd.
  void record(VkCommandBuffer cmd, uint64_t frame) {
    if (sliced && current.parts() > 0 && !current.recorded()) {
      check(trainer.record_next_part(cmd, current), "record_next_part");
    } else {
      const uint32_t rows = std::min(trainer.batch(), count - next);
      const VkDeviceSize image_offset = uint64_t(next) * trainer.image_bytes();
      const VkDeviceSize label_offset = uint64_t(next) * sizeof(uint32_t);
      next = next + rows == count ? 0 : next + rows;
      current = sliced ? take(trainer.record_first_part(cmd, images.buffer, image_offset, labels.buffer,
                                                         label_offset, rows),
                              "record_first_part")
                       : take(trainer.record_step(cmd, images.buffer, image_offset, labels.buffer, label_offset,
                                                  rows),
                              "record_step");
    }
    if (current.recorded()) pending.push_back({current, frame});
  }
  // Finishes, in order, the steps whose last part was in a completed frame.
  void finish_up_to(uint64_t frame) {
    while (!pending.empty() && pending.front().frame <= frame) {
      losses.push_back(take(trainer.finish_step(pending.front().ticket), "finish_step").loss);
      pending.pop_front();
    }
  }
};

double mean(const std::vector<double>& v, size_t first, size_t last) {
  double s = 0;
  for (size_t i = first; i < last; ++i) s += v[i];
  return last > first ? s / double(last - first) : 0.0;
}

// Statistics over the frames after the first two (pipelines warming up).
struct Report {
  std::vector<double> host_ms, fovea_ms;
  double wall_seconds = 0;
};

void print_report(const Report& r, const Training& t, uint32_t frames, double budget_ms, const PartPlan& plan) {
  const size_t n = r.host_ms.size(), skip = std::min<size_t>(2, n);
  const double host = mean(r.host_ms, skip, n), fovea = mean(r.fovea_ms, skip, n);
  const double max_fovea = n > skip ? *std::max_element(r.fovea_ms.begin() + long(skip), r.fovea_ms.end()) : 0;
  std::printf("frames %u  steps %zu  parts per step %zu  budget %s\n", frames, t.losses.size(),
              plan.dispatches.size(), budget_ms > 0 ? (std::to_string(budget_ms) + " ms").c_str() : "-");
  if (budget_ms > 0) {
    const double expected = *std::max_element(plan.expected_ms.begin(), plan.expected_ms.end());
    std::printf("plan: longest part expected %.3f ms (measured dispatches summed)\n", expected);
  }
  std::printf("frame time %.3f ms (wall, %u frames in flight)\n", 1e3 * r.wall_seconds / frames, kInFlight);
  std::printf("gpu per frame: host work %.3f ms  fovea %.3f ms (max %.3f ms)  fovea share %.1f%%\n", host, fovea,
              max_fovea, host + fovea > 0 ? 100.0 * fovea / (host + fovea) : 0.0);
  const size_t k = std::min<size_t>(10, t.losses.size() / 2);
  std::printf("loss: first %zu steps %.4f  last %zu steps %.4f\n", k, mean(t.losses, 0, k), k,
              mean(t.losses, t.losses.size() - k, t.losses.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) die("usage: fovea_embed_frame DATA_DIR MODEL_SPEC [FRAMES] [BUDGET_MS]");
  const uint32_t frames = argc > 3 ? uint32_t(std::atoi(argv[3])) : 200;
  const double budget_ms = argc > 4 ? std::atof(argv[4]) : 0.0;
  // Fovea reads the data set too (fovea/data.hpp); the first 2,000 images go
  // into the host's buffers.
  const DataSet data = take(load_data(argv[1], DataOptions{}), "load_data");
  const uint32_t count = std::min<uint32_t>(2000, data.train.count);
  const uint64_t image_bytes = uint64_t(data.train.channels) * data.train.height * data.train.width;
  Engine engine = create_engine();
  HostBuffer images = make_buffer(engine, data.train.images.data(), count * image_bytes);
  HostBuffer labels = make_buffer(engine, data.train.labels.data(), count * sizeof(uint32_t));
  HostWork work = create_host_work(engine, FOVEA_FRAME_SPV);
  Frames f = create_frames(engine);
  {
    Device device = take(Device::adopt(engine.instance, engine.physical, engine.device, engine.family), "adopt");
    std::printf("device: %s\n", device.name().c_str());
    TrainerOptions opts;
    opts.spec_path = argv[2];
    opts.batch = 32;
    opts.lr = 0.05;
    opts.seed = 7;
    Trainer trainer = take(Trainer::create(device, opts), "Trainer::create");
    const PartPlan plan = take(trainer.set_part_budget(budget_ms), "set_part_budget");
    Training t{trainer, images, labels, count};
    t.sliced = budget_ms > 0;
    Report r;
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t frame = 0; frame < frames + kInFlight; ++frame) {
      const uint32_t s = uint32_t(frame % kInFlight);
      const bool was_submitted = f.submitted[s];
      const FrameTimes ft = wait_frame(engine, f, s);
      if (was_submitted) {
        r.host_ms.push_back(ft.host_ms);
        r.fovea_ms.push_back(ft.fovea_ms);
        t.finish_up_to(frame - kInFlight);
      }
      if (frame >= frames) continue;  // the last frames drain
      VkCommandBuffer cmd = f.cmd[s];
      vk(vkResetCommandBuffer(cmd, 0), "vkResetCommandBuffer");
      VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
      bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
      vk(vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
      vkCmdResetQueryPool(cmd, f.queries, s * kStamps, kStamps);
      vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, f.queries, s * kStamps);
      record_host_work(cmd, work, uint32_t(frame));
      vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, f.queries, s * kStamps + 1);
      t.record(cmd, frame);
      vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, f.queries, s * kStamps + 2);
      vk(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
      VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
      si.commandBufferCount = 1;
      si.pCommandBuffers = &cmd;
      vk(vkQueueSubmit(engine.queue, 1, &si, f.fence[s]), "vkQueueSubmit");
      f.submitted[s] = true;
    }
    r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    print_report(r, t, frames, budget_ms, plan);
  }
  destroy_frames(engine, f);
  destroy_host_work(engine, work);
  destroy_buffer(engine, images);
  destroy_buffer(engine, labels);
  destroy_engine(engine);
  std::printf("validation messages: %d\n", validation_messages());
  return validation_messages() > 0 ? 1 : 0;
}
