// The session layer (train/session.h).
#include "train/session.h"

#include <algorithm>
#include <cstring>

#include "ops/metrics.h"
#include "util/error.h"

namespace fovea::train {

Session::Session(nn::Model& model, const SessionOptions& o)
    : model_(model), opts_(o), coefficients_(o.optim) {
  if (!o.training) return;
  train_ = std::make_unique<gpu::Replayer>(model.train_program(), model.slots(), o.profile);
  if (o.accumulate > 1 || o.ranks > 1)
    update_ = std::make_unique<gpu::Replayer>(model.update_program(), model.slots(), o.profile);
  // Synchronised BatchNorm: the training program's later parts (after each
  // host exchange mark), each run after the host summed the partials the
  // part before left.
  gpu::Program& t = model.train_program();
  for (size_t k = 1; k < t.part_count(); ++k)
    sync_.push_back(std::make_unique<gpu::Replayer>(t, model.slots(), o.profile, k));
}

Session::~Session() = default;

nn::StepParams Session::params(const StepRate& rate, const StepRows& rows, uint32_t k, uint32_t slot) {
  const uint32_t b = model_.batch();
  nn::StepParams p;
  p.lr = float(rate.lr);
  const auto c = coefficients_.at(steps_ + 1, p.lr);  // the rate the kernel reads
  std::copy(c.begin(), c.end(), p.optim);
  p.step = uint32_t(steps_);
  p.rows = std::min(b, rows.rows - k * b);
  p.seed = uint32_t(opts_.seed);
  p.slot = slot;
  p.blur_sigma = float(rate.blur_sigma);
  p.feature_sigma = float(rate.feature_sigma);
  if (opts_.accumulate > 1 || opts_.ranks > 1) {
    // The loss divides by the whole step's rows, so the parts' gradients sum
    // to the step's; random layers and augmentation key their draws by the
    // row in the step, so they draw what one process (one batch) would.
    p.loss_rows = rows.step_rows;
    p.first_row = rows.first + k * b;
    p.shard_rows = b;
  }
  return p;
}

void Session::prepare_part(uint32_t slot, const StepRate& rate, const StepRows& rows, uint32_t k) {
  const nn::StepParams p = params(rate, rows, k, slot);
  // The slot's sums accumulate on the GPU: zeroed, they hold this step alone.
  if (opts_.step_sums) std::memset(model_.train_sums().host(slot), 0, sizeof(ops::MetricSums));
  std::memcpy(model_.params_ring().host(slot), &p, sizeof p);
}

void Session::count_step(uint32_t parts) {
  ++steps_;
  model_.set_batches_tracked(model_.batches_tracked() + parts);
}

uint32_t Session::train_step(const StepRate& rate, const StepRows& rows, const FillRows& fill, Exchange* exchange) {
  const uint32_t n = parts(rows.rows), b = model_.batch();
  uint32_t first_slot = 0, slot = 0;
  for (uint32_t k = 0; k < n; ++k) {
    slot = train_->acquire();  // waits for the slot's previous run
    if (k == 0) first_slot = slot;
    fill(slot, uint64_t(rows.first) + uint64_t(k) * b, std::min(b, rows.rows - k * b));
    prepare_part(slot, rate, rows, k);
    train_->submit(slot);
    if (exchange) exchange_step(slot, rows, *exchange);
  }
  if (opts_.ranks > 1 && !exchange) throw Error("internal: a data-parallel step without its exchange");
  if (update_ && !exchange) {
    // Accumulation: the update reads only the step's rate and optimizer
    // scalars, which the last part's slot holds; it runs after the parts on
    // the queue, and its fence covers them, so one wait ends the step.
    update_->submit(slot);
    update_->finish();
    train_->finish();
  }
  count_step(n);
  return first_slot;
}

void Session::exchange_step(uint32_t slot, const StepRows& part, Exchange& exchange) {
  if (!update_) throw Error("internal: a data-parallel step without its update program");
  train_->finish();
  for (size_t i = 0; i < sync_.size(); ++i) {
    exchange.batch_norm(i, slot, part.rows, part.step_rows);
    if (sync_[i]->acquire() != slot) throw Error("internal: a --sync-bn program's slot is not the step's");
    sync_[i]->submit(slot);
    sync_[i]->finish();
  }
  exchange.gradients(slot);
  if (update_->acquire() != slot) throw Error("internal: the update step's slot is not the step's");
  update_->submit(slot);
  update_->finish();
}

void Session::finish_training() { train_->finish(); }

void Session::zero_train_sums() { zero_sums(model_.train_sums(), model_.slots()); }

Totals Session::train_totals() const { return read_sums(model_.train_sums(), model_.slots()); }

Totals Session::train_totals(uint32_t first, uint32_t parts) const {
  Totals total;
  for (uint32_t k = 0; k < parts; ++k) {
    ops::MetricSums s;
    std::memcpy(&s, model_.train_sums().host(first + k), sizeof s);
    total.add(s);
  }
  return total;
}

void Session::record_copies(VkCommandBuffer cmd, uint32_t slot, VkBuffer images, VkDeviceSize images_offset,
                            VkBuffer labels, VkDeviceSize labels_offset, uint64_t first, uint32_t n) {
  const uint64_t image_bytes = model_.spec().input_features();
  // Labels past the rows are class 0 (host writes, visible to the submit).
  std::memset(model_.labels_ring().host(slot), 0, size_t(model_.batch()) * sizeof(uint32_t));
  const VkBufferCopy image_copy{images_offset + first * image_bytes, model_.images_ring().offset_of(slot),
                                n * image_bytes};
  const VkBufferCopy label_copy{labels_offset + first * sizeof(uint32_t), model_.labels_ring().offset_of(slot),
                                n * sizeof(uint32_t)};
  vkCmdCopyBuffer(cmd, images, model_.images_ring().buffer(), 1, &image_copy);
  vkCmdCopyBuffer(cmd, labels, model_.labels_ring().buffer(), 1, &label_copy);
}

size_t Session::step_dispatches() const {
  return opts_.accumulate * train_->dispatch_count() + (update_ ? update_->dispatch_count() : 0);
}

void Session::record_range(VkCommandBuffer cmd, uint32_t first_slot, uint32_t parts, size_t a, size_t b) const {
  // One program's run within the step: its replayer, ring slot and place.
  struct Segment {
    const gpu::Replayer* replayer;
    uint32_t slot;
    size_t begin, end;
  };
  const size_t n = train_->dispatch_count();
  std::vector<Segment> segments;
  for (uint32_t k = 0; k < parts; ++k) segments.push_back({train_.get(), first_slot + k, k * n, (k + 1) * n});
  if (update_)
    segments.push_back({update_.get(), first_slot, opts_.accumulate * n, opts_.accumulate * n + update_->dispatch_count()});
  for (const Segment& s : segments) {
    const size_t lo = std::max(a, s.begin), hi = std::min(b, s.end);
    if (lo >= hi) continue;
    if (lo == s.begin && lo > a) gpu::program_barrier(cmd);
    s.replayer->record_into(cmd, s.slot, lo - s.begin, hi - s.begin);
  }
}

namespace {

// Mean GPU time per dispatch of a timed replayer's runs, appended `copies`
// times (a program that runs once per micro-batch).
void add_times(Session::Timed& times, const gpu::Replayer& r, uint32_t copies, const std::string& prefix) {
  const std::vector<gpu::ProfileEntry> entries = r.profile();
  for (uint32_t c = 0; c < copies; ++c)
    for (const gpu::ProfileEntry& e : entries) {
      times.labels.push_back((copies > 1 ? prefix + std::to_string(c) + "." : prefix) + e.label);
      times.ms.push_back(e.total_ms / double(std::max<uint64_t>(r.profiled_steps(), 1)));
    }
}

}  // namespace

Session::Timed Session::timed_steps(const StepRate& rate, uint32_t repeats) {
  gpu::Replayer train(model_.train_program(), model_.slots(), true);
  std::unique_ptr<gpu::Replayer> update;
  if (update_) update = std::make_unique<gpu::Replayer>(model_.update_program(), model_.slots(), true);
  const StepRows rows = StepRows::whole(model_.batch() * opts_.accumulate);
  for (uint32_t r = 0; r < repeats; ++r) {
    for (uint32_t k = 0; k < opts_.accumulate; ++k) {
      const uint32_t slot = train.acquire();
      std::memset(model_.images_ring().host(slot), 0, size_t(model_.batch()) * model_.spec().input_features());
      std::memset(model_.labels_ring().host(slot), 0, size_t(model_.batch()) * sizeof(uint32_t));
      prepare_part(slot, rate, rows, k);
      train.submit(slot);
    }
    train.finish();
    if (update) {
      update->submit(update->acquire());  // slot 0: micro-batch 0's parameters
      update->finish();
    }
  }
  Timed times;
  add_times(times, train, opts_.accumulate, opts_.accumulate > 1 ? "micro" : "");
  if (update) add_times(times, *update, 1, "");
  return times;
}

gpu::Replayer& Session::eval() {
  if (!eval_) eval_ = std::make_unique<gpu::Replayer>(model_.eval_program(), model_.slots());
  return *eval_;
}

Totals Session::evaluate(uint64_t n, const FillRows& fill, const nn::StepParams& base, const LogitsSink& sink) {
  return train::evaluate(model_, eval(), n, fill, base, sink);
}

Totals Session::evaluate(const data::ImageSet& set, const std::vector<uint32_t>& indices,
                         const nn::StepParams& base, const LogitsSink& sink) {
  return train::evaluate(model_, eval(), set, indices, base, sink);
}

void Session::probe(Probe which, const nn::StepParams& base, uint64_t first, uint32_t rows, const FillRows& fill) {
  const bool gradient = which == Probe::gradient;
  std::unique_ptr<gpu::Replayer>& r = gradient ? probe_ : jacobian_;
  if (!r)
    r = std::make_unique<gpu::Replayer>(gradient ? model_.probe_program() : model_.jacobian_program(), model_.slots());
  const uint32_t slot = r->acquire();
  fill(slot, first, rows);
  write_pass_params(model_, slot, base, rows, first);
  r->submit(slot);
  r->finish();
}

std::vector<gpu::ProfileEntry> Session::profile() const {
  std::vector<gpu::ProfileEntry> prof = train_->profile();
  for (const auto& r : sync_)
    for (const auto& p : r->profile()) prof.push_back(p);
  if (update_)
    for (const auto& p : update_->profile()) prof.push_back(p);
  return prof;
}

void Session::reset_profile() { train_->reset_profile(); }

}  // namespace fovea::train
