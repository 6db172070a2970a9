// The sliced mode's plan: measure_step times every dispatch of a step on
// this device (then puts the trained state back), set_part_budget packs
// consecutive dispatches into parts that fit a GPU-time budget.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "api/trainer_impl.h"

namespace fovea::api {

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
    const train::Session::Timed timed = t.session->timed_steps(t.rate(), repeats);
    t.times = StepTimes{};
    t.times.dispatches = timed.labels;
    t.times.ms = timed.ms;
    for (double ms : timed.ms) t.times.total_ms += ms;
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
    const size_t n = t.session->step_dispatches();
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
