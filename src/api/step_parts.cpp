// The sliced mode's plan: measure_step times every dispatch of a step on
// this device (then puts the trained state back), set_part_budget packs
// consecutive dispatches into parts that fit a GPU-time budget.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "api/trainer_impl.h"

namespace fovea::api {

namespace {

// Mean GPU time per dispatch of a timed replayer's runs, appended to `times`
// `copies` times (a program that runs once per micro-batch).
void add_times(StepTimes& times, const gpu::Replayer& r, uint32_t copies, const std::string& prefix) {
  const std::vector<gpu::ProfileEntry> entries = r.profile();
  for (uint32_t c = 0; c < copies; ++c)
    for (const gpu::ProfileEntry& e : entries) {
      times.dispatches.push_back((copies > 1 ? prefix + std::to_string(c) + "." : prefix) + e.label);
      times.ms.push_back(e.total_ms / double(std::max<uint64_t>(r.profiled_steps(), 1)));
      times.total_ms += times.ms.back();
    }
}

// Runs `repeats` whole steps (every micro-batch, then the update) on a zero
// batch under timestamps and returns their times per dispatch.
StepTimes timed_steps(Trainer::Impl& t, uint32_t repeats) {
  nn::Model& m = *t.model;
  gpu::Replayer train(m.train_program(), m.slots(), true);
  std::unique_ptr<gpu::Replayer> update;
  if (t.update) update = std::make_unique<gpu::Replayer>(m.update_program(), m.slots(), true);
  const uint32_t rows = m.batch() * t.accumulate;
  for (uint32_t r = 0; r < repeats; ++r) {
    for (uint32_t k = 0; k < t.accumulate; ++k) {
      const uint32_t slot = train.acquire();
      std::memset(m.images_ring().host(slot), 0, size_t(m.batch()) * t.spec.input_features());
      std::memset(m.labels_ring().host(slot), 0, size_t(m.batch()) * sizeof(uint32_t));
      write_step_params(t, slot, rows, k);
      train.submit(slot);
    }
    train.finish();
    if (update) {
      update->submit(update->acquire());  // slot 0: micro-batch 0's parameters
      update->finish();
    }
  }
  StepTimes times;
  add_times(times, train, t.accumulate, t.accumulate > 1 ? "micro" : "");
  if (update) add_times(times, *update, 1, "");
  return times;
}

}  // namespace

Result<StepTimes> Trainer::measure_step(uint32_t repeats) {
  return guarded<StepTimes>(ErrorCode::InvalidArgument, [&] {
    Impl& t = *impl_;
    refuse_in_flight(t, "measure_step");
    if (repeats == 0 || repeats > 100) fail("measure_step: repeats must be in 1..100, got " + std::to_string(repeats));
    nn::Model& m = *t.model;
    if (!t.device->ctx->info().timestamps)
      fail("measure_step: the device's queue writes no timestamps, so Fovea cannot time its dispatches");
    // What a step changes, put back afterwards: weights, layer state,
    // optimizer state and the counters (the accumulated gradients end zero).
    const std::vector<float> params = m.download_parameters(), state = m.download_state(),
                             optim = m.download_optimizer_state();
    const uint64_t tracked = m.batches_tracked();
    t.times = timed_steps(t, repeats);
    m.upload_parameters(params);
    m.upload_state(state);
    m.upload_optimizer_state(optim);
    m.set_batches_tracked(tracked);
    return t.times;
  });
}

Result<PartPlan> Trainer::set_part_budget(double budget_ms) {
  return guarded<PartPlan>(ErrorCode::InvalidArgument, [&] {
    Impl& t = *impl_;
    if (!(budget_ms >= 0) || !std::isfinite(budget_ms))
      fail("set_part_budget: the budget must be 0 or a positive number of milliseconds, got " +
           std::to_string(budget_ms));
    refuse_in_flight(t, "set_part_budget");
    const size_t n = step_dispatches(t);
    if (budget_ms > 0 && t.times.ms.size() != n) {
      auto measured = measure_step(3);
      if (!measured) throw ApiError{measured.error().code, measured.error().message};
    }
    PartPlan plan;
    plan.budget_ms = budget_ms;
    std::vector<size_t> ends;
    double part_ms = 0;
    for (size_t i = 0; i < n; ++i) {
      const double ms = budget_ms > 0 ? t.times.ms[i] : 0;
      // A part ends before a dispatch that would take it over the budget; a
      // dispatch longer than the budget is a part of its own.
      if (budget_ms > 0 && part_ms > 0 && part_ms + ms > budget_ms) {
        ends.push_back(i);
        plan.expected_ms.push_back(part_ms);
        part_ms = 0;
      }
      part_ms += ms;
    }
    ends.push_back(n);
    plan.expected_ms.push_back(budget_ms > 0 ? part_ms : (t.times.ms.size() == n ? t.times.total_ms : 0));
    for (size_t p = 0; p < ends.size(); ++p) plan.dispatches.push_back(uint32_t(ends[p] - (p ? ends[p - 1] : 0)));
    t.part_ends = budget_ms > 0 ? ends : std::vector<size_t>{};
    t.plan = plan;
    return plan;
  });
}

}  // namespace fovea::api
