// A Program is a training step (or any op sequence) as data: dispatches with
// the buffer ranges each reads and writes. A Replayer records it once per
// ring slot into command buffers, inserting the barriers the hazard tracker
// asks for (no op writes a barrier itself), and replays them with several
// steps in flight.
#pragma once
#include <vulkan/vulkan.h>

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "gpu/hazards.h"
#include "gpu/kernel.h"
#include "gpu/memory.h"

namespace fovea::gpu {

struct Binding {
  View view;
  Access access = Access::Read;
  bool texel = false;   // read through an rgba32f uniform texel buffer (bindings 5..)
  bool scalar = false;  // with texel: an r32f view instead (one float per texel)
  bool uint = false;    // with scalar: an r32ui view (one uint32 per texel, usamplerBuffer)
};
inline Binding in(const View& v) { return {v, Access::Read}; }
inline Binding texel_in(const View& v) { return {v, Access::Read, true}; }
inline Binding texel_scalar_in(const View& v) { return {v, Access::Read, true, true}; }
inline Binding texel_uint_in(const View& v) { return {v, Access::Read, true, true, true}; }
inline Binding out(const View& v) { return {v, Access::Write}; }
inline Binding inout(const View& v) { return {v, Access::ReadWrite}; }

struct Dispatch {
  std::string label;  // "dense1.forward"; the --profile and --print-plan name
  const Kernel* kernel = nullptr;
  // Storage bindings take 1..4 in order, texel bindings 5..6 in order.
  std::vector<Binding> bindings;
  std::array<uint8_t, kPushConstantBytes> push{};
  uint32_t push_size = 0;
  uint32_t groups[3] = {1, 1, 1};
  // Work per step for the roofline (`fovea bench --roofline`): floating-point
  // operations and bytes read + written. Exact when the op set them
  // (Program::cost); otherwise cost_of() estimates them from the bindings.
  double flops = 0, bytes = 0;
  bool exact_cost = false;
};

// A dispatch's FLOPs and bytes per step: the op's own figures, or an estimate
// from its bound views (each read view read once, each written view written
// once, an updated one both; one operation per value written).
struct DispatchCost {
  double flops = 0, bytes = 0;
  bool exact = false;
};
DispatchCost cost_of(const Dispatch& d);

class Program {
 public:
  Program(Context& ctx, std::string name) : ctx_(ctx), name_(std::move(name)) {}

  // The ring of per-step parameter blocks, bound at binding 0 of every
  // dispatch: each slot's bytes whole (at most kMaxParamBytes; their layout
  // is the caller's). Throws fovea::Error for a larger block.
  void set_params(const View& params);
  const View& params() const { return params_; }

  template <class Push>
  void dispatch(std::string label, const Kernel& k, std::initializer_list<Binding> b,
                const Push& push, uint32_t gx, uint32_t gy = 1, uint32_t gz = 1) {
    static_assert(sizeof(Push) <= kPushConstantBytes);
    add(std::move(label), k, b, &push, sizeof(Push), gx, gy, gz);
  }
  void add(std::string label, const Kernel& k, std::initializer_list<Binding> b,
           const void* push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz);
  // The exact work of the last dispatch added (FLOPs, bytes read + written).
  void cost(double flops, double bytes);

  // Device memory owned by the program for intermediate results (split-K
  // partials). Planned while ops are recorded, allocated before the first
  // recording; never shared with another program.
  View scratch(const std::string& name, uint64_t bytes);
  void commit_scratch();
  uint64_t scratch_bytes() const;
  // Scratch from `arena` (not yet committed) instead of an arena of the
  // program's own: a planner that knows every program's uses may then let
  // it share bytes with other views (src/nn/memory_plan.h). The caller
  // guarantees the programs never run concurrently (one queue: every step
  // starts with a full barrier). Call before recording.
  void scratch_from(Arena& arena) { shared_scratch_ = &arena; }
  // Applies `f` to the view of every binding (a planner moving views).
  void relocate(const std::function<void(View&)>& f);

  // Views the host reads after a step completes (metric sums): the step
  // ends with a barrier that makes their writes visible to the host.
  void host_reads(const View& v) { host_reads_.push_back(v); }

  // A host exchange in the middle of the program (synchronised BatchNorm's
  // sums over the ranks): the dispatches recorded so far run as one part,
  // ending with the barrier that lets the host read `reads`; the host does
  // its work (writing what the next part reads from an upload ring) and the
  // next part runs as a submission of its own, starting with the full
  // barrier every program starts with. tag and value are the caller's (the
  // model: the layer's node and the chunks of its partials).
  struct Mark {
    size_t at = 0;  // the dispatches before it
    View reads;
    uint32_t tag = 0, value = 0;
  };
  void mark_host_exchange(const View& reads, uint32_t tag, uint32_t value);
  const std::vector<Mark>& marks() const { return marks_; }
  // The runs between marks, in order; part 0 is the whole program when
  // there is no mark. Names: the program's, then "<name>.1", "<name>.2", ...
  struct Part {
    size_t first = 0, end = 0;  // dispatches [first, end)
    std::string name;
  };
  size_t part_count() const { return marks_.size() + 1; }
  Part part(size_t k) const;
  // What the host reads after part k: its mark's view, or (the last part)
  // host_read_views().
  std::vector<View> part_host_reads(size_t k) const;

  const std::vector<Dispatch>& dispatches() const { return dispatches_; }
  const std::vector<View>& host_read_views() const { return host_reads_; }
  const std::string& name() const { return name_; }
  Context& context() const { return ctx_; }

  // The barrier in front of each dispatch when recorded for `slot`. Each
  // step (each part) starts with one full compute barrier (ordering it after
  // the previous submission on the queue), so the analysis starts from a
  // clean state there.
  std::vector<BarrierPlan> barrier_plans(uint32_t slot);

  // Testing only: record no barriers, so validation must complain.
  bool omit_barriers_for_test = false;

 private:
  Context& ctx_;
  std::string name_;
  View params_;
  std::vector<Dispatch> dispatches_;
  std::vector<View> host_reads_;
  std::vector<Mark> marks_;
  std::unique_ptr<Arena> scratch_;
  Arena* shared_scratch_ = nullptr;
};

// GPU time per dispatch label, summed over profiled steps.
struct ProfileEntry {
  std::string label;
  double total_ms = 0;
};

class Replayer {
 public:
  // Records part `part` of `program` (Program::part; the whole program when
  // it has no mark) once into `slots` command buffers (slot k binds ring
  // slot k of every ring view). With profile, timestamps bracket each
  // dispatch. Dispatch indices below count from the part's first.
  Replayer(Program& program, uint32_t slots, bool profile = false, size_t part = 0);
  ~Replayer();
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  // The slot the next step uses; waits until its previous use has finished
  // (so the host may now write its upload and parameter slots and read its
  // host-read views).
  uint32_t acquire();
  void submit(uint32_t slot);
  // Waits for every submitted step. The next acquire() returns slot 0, so
  // a pass over the data lands its batches in the same slots (and its
  // per-slot sums add up in the same order) whatever ran before it: a
  // resumed run repeats an uninterrupted one bit for bit.
  void finish();
  uint32_t slots() const { return uint32_t(cmds_.size()); }

  // Records dispatches [first, last) of the program for `slot` into the
  // caller's command buffer, each with the barrier the hazard analysis puts
  // in front of it (the one in front of `first` orders it after dispatch
  // first - 1 recorded earlier on the same queue). No barrier before or
  // after the range: the caller records those (external_entry_barrier,
  // external_exit_barrier). The slot's ring views must not be in use by
  // another submission while it runs.
  void record_into(VkCommandBuffer cmd, uint32_t slot, size_t first, size_t last) const;
  size_t dispatch_count() const { return part_.end - part_.first; }

  std::vector<ProfileEntry> profile() const;
  uint64_t profiled_steps() const { return profiled_steps_; }
  // Forgets the timings so far (a benchmark's warm-up steps); call after finish().
  void reset_profile();

 private:
  void prepare(uint32_t slot);
  void record(uint32_t slot);
  void record_range(VkCommandBuffer cmd, uint32_t slot, size_t first, size_t last, bool timestamps) const;
  void wait(uint32_t slot);

  Program& program_;
  Program::Part part_;
  size_t part_index_ = 0;
  Context& ctx_;
  bool profile_ = false;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkDescriptorPool descriptors_ = VK_NULL_HANDLE;
  std::vector<VkCommandBuffer> cmds_;
  std::vector<VkFence> fences_;
  std::vector<bool> pending_;
  std::vector<VkQueryPool> queries_;
  std::vector<VkBufferView> texel_views_;
  std::vector<std::vector<VkDescriptorSet>> sets_;  // [slot][dispatch]
  std::vector<std::vector<BarrierPlan>> plans_;     // [slot][dispatch]
  std::vector<double> op_ms_;
  uint64_t profiled_steps_ = 0;
  uint32_t next_ = 0;
};

// Barriers around work Fovea records into a command buffer that another
// program owns and submits (Trainer::record_step; the exact stages and
// accesses are stated in include/fovea/fovea.hpp).
// Entry: everything earlier in submission order (ALL_COMMANDS, MEMORY_WRITE)
// before Fovea's copies and dispatches (TRANSFER | COMPUTE_SHADER: transfer
// reads and writes, shader and uniform reads, shader writes).
void external_entry_barrier(VkCommandBuffer cmd);
// Between Fovea's copies of the batch and its first dispatch: TRANSFER_WRITE
// to SHADER_READ.
void transfer_to_compute_barrier(VkCommandBuffer cmd);
// Between two programs recorded one after the other: the full compute
// barrier every program's hazard analysis assumes in front of it.
void program_barrier(VkCommandBuffer cmd);
// Exit: Fovea's copies and dispatches (TRANSFER | COMPUTE_SHADER; transfer
// and shader writes) before everything later in submission order
// (ALL_COMMANDS: MEMORY_READ | MEMORY_WRITE) and the host's reads (HOST,
// HOST_READ) after the caller's fence.
void external_exit_barrier(VkCommandBuffer cmd);

}  // namespace fovea::gpu
