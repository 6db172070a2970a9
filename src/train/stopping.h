// `fovea train`'s stopping rules, checked after every epoch: divergence (a
// loss or weight that is not finite, or the training loss above
// --divergence-factor x the starting loss) ends the run with the last good
// weights; early stopping (--early-stop patience on a validation metric)
// ends it with the best epoch's; --target-acc stops it at once. Holds the
// snapshots the rules fall back to and their share of a checkpoint.
#pragma once
#include <cstdint>
#include <string>

#include "nn/model.h"
#include "train/checkpoint.h"
#include "train/run_support.h"
#include "train/trainer.h"

namespace fovea::train {

class StoppingRules {
 public:
  // The rules' state at the start of a run, or of a resumed one (`resumed`);
  // the model's weights are the last good ones.
  StoppingRules(const TrainConfig& cfg, const CheckpointState& resumed, const nn::Model& model);

  // The divergence rule's starting loss (the initial weights' evaluation loss).
  double first_loss() const { return first_loss_; }
  void set_first_loss(double loss) { first_loss_ = loss; }

  // Why epoch `e` with its final weights `now` diverged ("" = it did not).
  std::string divergence(const EpochResult& e, const Snapshot& now, bool has_val) const;
  // After epoch `epoch` (0-based; `e` its figures, `now` its weights,
  // `diverged` divergence()'s answer): the reason to stop ("" = go on). A
  // diverged run's model gets the last good weights back; result.best_epoch
  // is the epoch whose weights the run stands at.
  std::string after_epoch(uint32_t epoch, const EpochResult& e, Snapshot now, const std::string& diverged,
                          nn::Model& model, RunResult& result);
  // When the epochs are over: early stopping ends with the best weights.
  void end(nn::Model& model, RunResult& result) const;
  // The rules' fields of a checkpoint of a run going on (stop_reason "")
  // or of a finished one that ended with `final_epoch`'s weights.
  void fill(CheckpointState& c, const std::string& stop_reason, uint32_t final_epoch) const;

 private:
  const TrainConfig& cfg_;
  Snapshot good_, best_;  // the last weights known good, the best ones
  double best_metric_ = 0, first_loss_ = 0;
  uint32_t since_best_ = 0;
};

}  // namespace fovea::train
