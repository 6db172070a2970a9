// Training steps recorded into the caller's command buffer (record_step), in
// parts for a frame budget (record_first_part, record_next_part), their
// tickets (finish_step), and the timings the parts are planned from
// (measure_step, set_part_budget). Every path writes its step parameters
// through the Trainer's train::Session, as step() does, so any mix of them
// computes the same numbers as the same sequence of step() calls.
//
// A step is a sequence of dispatches: the train program once per
// micro-batch (TrainerOptions::accumulate; once without accumulation), then
// the update program (with accumulation only). Parts are ranges of that
// sequence; micro-batch k of the step in step slot s runs in ring slot
// s * accumulate + k.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "api/trainer_impl.h"
#include "nn/step_params.h"
#include "ops/metrics.h"

namespace fovea::api {

void refuse_in_flight(const Trainer::Impl& t, const char* what) {
  if (t.in_flight.empty()) return;
  const StepTicket& last = t.in_flight.back();
  if (!last.recorded())
    fail(std::string(what) + ": step " + std::to_string(last.step()) + " is sliced and " +
         std::to_string(last.parts() - last.parts_recorded()) + " of its parts are not recorded yet");
  fail(std::string(what) + ": " + std::to_string(t.in_flight.size()) +
       " recorded step(s) are in flight; finish_step them first");
}

// Fills a ticket's fields (free functions here may not touch them otherwise).
struct TicketAccess {
  static StepTicket make(uint64_t trainer, uint64_t step, uint32_t slot, uint32_t parts, uint32_t micro) {
    StepTicket k;
    k.trainer_ = trainer;
    k.step_ = step;
    k.slot_ = slot;
    k.parts_ = parts;
    k.micro_ = micro;
    return k;
  }
};

namespace {

uint64_t identity(const Trainer::Impl& t) { return uint64_t(reinterpret_cast<uintptr_t>(&t)); }

// Records dispatches [a, b) of the step in step slot `slot` between the
// entry and exit barriers (train::Session::record_range).
void record_part(const Trainer::Impl& t, VkCommandBuffer cmd, uint32_t slot, uint32_t micro, size_t a, size_t b) {
  t.session->record_range(cmd, slot * t.accumulate, micro, a, b);
  gpu::external_exit_barrier(cmd);
}

// Checks a recorded step's arguments and takes the next step slot for it.
uint32_t take_slot(Trainer::Impl& t, VkCommandBuffer cmd, VkBuffer images, VkBuffer labels, uint32_t rows,
                   const char* what) {
  const std::string w = what;
  if (cmd == VK_NULL_HANDLE) fail(w + ": a null VkCommandBuffer");
  if (images == VK_NULL_HANDLE || labels == VK_NULL_HANDLE) fail(w + ": a null VkBuffer");
  const uint32_t most = t.model->batch() * t.accumulate;
  if (rows == 0 || rows > most) fail(w + ": rows must be in 1.." + std::to_string(most) + ", got " + std::to_string(rows));
  if (!t.in_flight.empty() && !t.in_flight.back().recorded()) refuse_in_flight(t, what);
  const uint32_t step_slots = t.model->slots() / t.accumulate;
  if (t.in_flight.size() >= step_slots)
    fail(w + ": " + std::to_string(t.in_flight.size()) + " recorded steps are in flight, the most there may be; " +
         "finish_step the oldest (step " + std::to_string(t.in_flight.front().step()) + ") first");
  const uint32_t slot = t.next_slot;
  t.next_slot = (t.next_slot + 1) % step_slots;
  return slot;
}

// Records the entry barrier, the copies of every micro-batch into its ring
// slot and their barrier, writes the step's parameters and counts the step:
// what every recorded step starts with. Returns its ticket.
StepTicket record_start(Trainer::Impl& t, VkCommandBuffer cmd, uint32_t slot, VkBuffer images,
                        VkDeviceSize images_offset, VkBuffer labels, VkDeviceSize labels_offset, uint32_t rows,
                        uint32_t parts) {
  train::Session& s = *t.session;
  const uint32_t micro = s.parts(rows), batch = t.model->batch();
  const train::StepRows step = train::StepRows::whole(rows);
  gpu::external_entry_barrier(cmd);
  for (uint32_t k = 0; k < micro; ++k) {
    const uint32_t ring = slot * t.accumulate + k, first = k * batch;
    s.record_copies(cmd, ring, images, images_offset, labels, labels_offset, first, std::min(batch, rows - first));
    s.prepare_part(ring, t.rate(), step, k);
  }
  gpu::transfer_to_compute_barrier(cmd);
  StepTicket ticket = TicketAccess::make(identity(t), s.steps(), slot, parts, micro);
  s.count_step(micro);
  return ticket;
}

}  // namespace

Result<StepTicket> Trainer::record_step(VkCommandBuffer cmd, VkBuffer images, VkDeviceSize images_offset,
                                        VkBuffer labels, VkDeviceSize labels_offset, uint32_t rows) {
  return guarded<StepTicket>(ErrorCode::InvalidArgument, [&] {
    Impl& t = *impl_;
    const uint32_t slot = take_slot(t, cmd, images, labels, rows, "record_step");
    StepTicket ticket = record_start(t, cmd, slot, images, images_offset, labels, labels_offset, rows, 1);
    record_part(t, cmd, slot, ticket.micro_, 0, t.session->step_dispatches());
    ticket.recorded_ = 1;
    t.in_flight.push_back(ticket);
    return ticket;
  });
}

Result<Metrics> Trainer::finish_step(const StepTicket& ticket) {
  return guarded<Metrics>(ErrorCode::InvalidArgument, [&] {
    Impl& t = *impl_;
    if (ticket.trainer_ != identity(t)) fail("finish_step: the ticket is not one of this Trainer's");
    if (t.in_flight.empty() || ticket.step_ < t.in_flight.front().step_)
      fail("finish_step: step " + std::to_string(ticket.step_) + " is already finished");
    const StepTicket& oldest = t.in_flight.front();
    if (ticket.step_ != oldest.step_)
      fail("finish_step: step " + std::to_string(ticket.step_) + " out of order; finish step " +
           std::to_string(oldest.step_) + " first");
    if (!oldest.recorded())
      fail("finish_step: step " + std::to_string(oldest.step_) + " has " +
           std::to_string(oldest.parts_ - oldest.recorded_) + " part(s) not recorded yet");
    const Metrics metrics = metrics_of(t.session->train_totals(oldest.slot_ * t.accumulate, oldest.micro_));
    t.in_flight.pop_front();
    return metrics;
  });
}

Result<StepTicket> Trainer::record_first_part(VkCommandBuffer cmd, VkBuffer images, VkDeviceSize images_offset,
                                              VkBuffer labels, VkDeviceSize labels_offset, uint32_t rows) {
  return guarded<StepTicket>(ErrorCode::InvalidArgument, [&] {
    Impl& t = *impl_;
    const uint32_t slot = take_slot(t, cmd, images, labels, rows, "record_first_part");
    const std::vector<size_t> ends = t.part_ends.empty() ? std::vector<size_t>{t.session->step_dispatches()} : t.part_ends;
    StepTicket ticket =
        record_start(t, cmd, slot, images, images_offset, labels, labels_offset, rows, uint32_t(ends.size()));
    record_part(t, cmd, slot, ticket.micro_, 0, ends[0]);
    ticket.recorded_ = 1;
    t.in_flight.push_back(ticket);
    return ticket;
  });
}

Result<void> Trainer::record_next_part(VkCommandBuffer cmd, StepTicket& ticket) {
  return guarded<void>(ErrorCode::InvalidArgument, [&] {
    Impl& t = *impl_;
    if (cmd == VK_NULL_HANDLE) fail("record_next_part: a null VkCommandBuffer");
    if (ticket.trainer_ != identity(t)) fail("record_next_part: the ticket is not one of this Trainer's");
    if (t.in_flight.empty() || t.in_flight.back().step_ != ticket.step_ || t.in_flight.back().recorded())
      fail("record_next_part: step " + std::to_string(ticket.step_) + " has no part left to record");
    StepTicket& live = t.in_flight.back();
    if (live.recorded_ != ticket.recorded_)
      fail("record_next_part: the ticket of step " + std::to_string(ticket.step_) +
           " is a stale copy (parts recorded " + std::to_string(ticket.recorded_) + ", not " +
           std::to_string(live.recorded_) + ")");
    const uint32_t part = live.recorded_;
    gpu::external_entry_barrier(cmd);
    record_part(t, cmd, live.slot_, live.micro_, t.part_ends[part - 1], t.part_ends[part]);
    ++live.recorded_;
    ticket = live;
  });
}

}  // namespace fovea::api
