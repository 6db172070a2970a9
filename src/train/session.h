// The session layer: one model's recorded programs (the training step, its
// update and --sync-bn parts, evaluation, the sharpness probe's) with their
// ring slots, and "one step on this batch at this rate -> metric sums".
// Every caller that trains or evaluates goes through it (`fovea train` and
// so `fovea cv`, `fovea eval`, `fovea predict`, `fovea audit`, `fovea bench`,
// `fovea sharpness`, the API's Trainer, record_step and its parts): none
// fills step parameters or upload slots itself, so every path computes the
// same numbers for the same step. Programs outside any model (sample grids,
// the blur pyramid) write theirs through train/program_params.h.
//
// A step of `step_rows` rows: this process trains rows [first, first + rows)
// of it (all of them with one process; a data-parallel rank its shard), in
// parts of at most batch() rows (micro-batches with accumulation), each the
// train program in a ring slot of its own.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "data/idx.h"
#include "gpu/recorder.h"
#include "nn/model.h"
#include "optim/optimizer.h"
#include "train/evaluate.h"

namespace fovea::train {

// What the caller's schedules give one step.
struct StepRate {
  double lr = 0;
  double blur_sigma = 0;     // the input blur (progressive sharpening)
  double feature_sigma = 0;  // conv2d output smoothing (--feature-smoothing)
};

// The rows of one optimizer step this process trains.
struct StepRows {
  uint32_t step_rows = 0;  // the whole step's rows (all ranks, all micro-batches)
  uint32_t first = 0;      // this process's first row in the step
  uint32_t rows = 0;       // and its rows
  static StepRows whole(uint32_t n) { return {n, 0, n}; }
};

// A data-parallel step's host work between its programs (train/exchange.h):
// the --sync-bn sums after part i of the training program (its host
// exchange marks, Model::sync_exchanges()), then the gradient sum.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void batch_norm(size_t i, uint32_t slot, uint32_t rows, uint32_t step_rows) = 0;
  virtual void gradients(uint32_t slot) = 0;
};

struct SessionOptions {
  uint64_t seed = 0;
  ops::OptimConfig optim;  // the optimizer's per-step scalars (ops::OptimCoefficients)
  uint32_t accumulate = 1;  // micro-batches per optimizer step (the model records the update program)
  uint32_t ranks = 1;       // data-parallel processes (the model records the update program)
  bool profile = false;     // device timestamps on the training programs
  // false: evaluation only (fovea eval, predict): no training replayers.
  bool training = true;
  // Each step's parts start from zeroed metric sums (the API reads a step's
  // own); otherwise they add up until zero_train_sums() (an epoch).
  bool step_sums = false;
};

class Session {
 public:
  Session(nn::Model& model, const SessionOptions& o);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  nn::Model& model() { return model_; }
  const nn::Model& model() const { return model_; }
  uint32_t accumulate() const { return opts_.accumulate; }
  // The index of the next optimizer step (Adam's bias corrections, the
  // random keys); a resumed run sets it.
  uint64_t steps() const { return steps_; }
  void set_steps(uint64_t s) { steps_ = s; }

  // ---- training from the host
  // One optimizer step: every part is filled by `fill` (positions in the
  // step), run, and with accumulation the update follows (one wait); a
  // data-parallel step runs `exchange`'s host work between its programs.
  // Returns the first part's ring slot.
  uint32_t train_step(const StepRate& rate, const StepRows& rows, const FillRows& fill, Exchange* exchange = nullptr);
  // Waits for every submitted training step (slots restart at 0).
  void finish_training();
  void zero_train_sums();
  // The training sums of every slot (an epoch's), of `parts` slots from `first`
  // (one step's), or of one slot as its last run left them.
  Totals train_totals() const;
  Totals train_totals(uint32_t first, uint32_t parts) const;

  // ---- training recorded into the caller's command buffer (the API)
  // Parts of a step of `rows` rows.
  uint32_t parts(uint32_t rows) const { return (rows + model_.batch() - 1) / model_.batch(); }
  // Writes part k's step parameters into ring slot `slot`.
  void prepare_part(uint32_t slot, const StepRate& rate, const StepRows& rows, uint32_t k);
  // Records the copies of rows [first, first + n) of the caller's buffers into ring slot `slot`.
  void record_copies(VkCommandBuffer cmd, uint32_t slot, VkBuffer images, VkDeviceSize images_offset,
                     VkBuffer labels, VkDeviceSize labels_offset, uint64_t first, uint32_t n);
  // Counts a step of `parts` parts (steps; num_batches_tracked per forward).
  void count_step(uint32_t parts);
  // Dispatches of a whole step (the train program per micro-batch, then the update).
  size_t step_dispatches() const;
  // Records dispatches [a, b) of the step whose parts run in ring slots
  // first_slot .. first_slot + parts - 1 (the update in the first), a full
  // compute barrier before each program that starts inside the range.
  void record_range(VkCommandBuffer cmd, uint32_t first_slot, uint32_t parts, size_t a, size_t b) const;
  // Mean GPU time per dispatch of `repeats` whole steps on a zero batch,
  // recorded afresh with timestamps (the caller puts the state back).
  struct Timed {
    std::vector<std::string> labels;
    std::vector<double> ms;
  };
  Timed timed_steps(const StepRate& rate, uint32_t repeats);

  // ---- evaluation
  // The eval program over `n` rows, `fill` writing them; `base` carries the
  // corruption (blur, noise) and feature sigma; rows, slot and first_image
  // (base.first_image + the batch's position) are set here. With a sink,
  // every batch's logits go to it once the batch has run.
  Totals evaluate(uint64_t n, const FillRows& fill, const nn::StepParams& base, const LogitsSink& sink = {});
  Totals evaluate(const data::ImageSet& set, const std::vector<uint32_t>& indices, const nn::StepParams& base,
                  const LogitsSink& sink = {});

  // ---- the sharpness probe's programs (nn::ModelOptions::probe)
  enum class Probe { gradient, jacobian };  // the model's probe_program(), jacobian_program()
  // Runs `which` once on `rows` rows that `fill` writes into a free ring
  // slot (the jacobian's probe vectors too), with `base`'s sigmas and the
  // batch's position `first` in the pass, and waits for it. The program is
  // recorded on first use.
  void probe(Probe which, const nn::StepParams& base, uint64_t first, uint32_t rows, const FillRows& fill);

  // ---- profiling (SessionOptions::profile)
  std::vector<gpu::ProfileEntry> profile() const;
  uint64_t profiled_steps() const { return train_->profiled_steps(); }
  void reset_profile();
  gpu::Replayer& train_replayer() { return *train_; }

 private:
  nn::StepParams params(const StepRate& rate, const StepRows& rows, uint32_t k, uint32_t slot);
  gpu::Replayer& eval();
  void exchange_step(uint32_t slot, const StepRows& part, Exchange& exchange);

  nn::Model& model_;
  SessionOptions opts_;
  ops::OptimCoefficients coefficients_;
  uint64_t steps_ = 0;
  std::unique_ptr<gpu::Replayer> train_, update_, eval_;
  std::vector<std::unique_ptr<gpu::Replayer>> sync_;  // --sync-bn: the training program's parts after the first
  std::unique_ptr<gpu::Replayer> probe_, jacobian_;     // Probe::gradient, Probe::jacobian
};

}  // namespace fovea::train
