// `fovea train`'s stopping rules (train/stopping.h).
#include "train/stopping.h"

#include <cmath>

namespace fovea::train {

StoppingRules::StoppingRules(const TrainConfig& cfg, const CheckpointState& resumed, const nn::Model& model)
    : cfg_(cfg), best_metric_(resumed.best_metric), first_loss_(resumed.first_loss), since_best_(resumed.since_best) {
  good_.take(model, resumed.epoch);
  if (resumed.has_best) {
    best_.params = resumed.best_params;
    best_.state = resumed.best_state;
    best_.batches_tracked = resumed.best_batches_tracked;
    best_.epoch = resumed.best_epoch;
  }
}

std::string StoppingRules::divergence(const EpochResult& e, const Snapshot& now, bool has_val) const {
  if (!std::isfinite(e.train_loss) || (has_val && !std::isfinite(e.val_loss))) return "the loss is not finite";
  if (!all_finite(now.params) || !all_finite(now.state))  // made by a step no loss has seen yet
    return "a weight is not finite (NaN or Inf) after the epoch's last step";
  if (e.train_loss > cfg_.divergence_factor * first_loss_)
    return "the training loss " + short_number(e.train_loss) + " exceeds " + short_number(cfg_.divergence_factor) +
           " x the starting loss " + short_number(first_loss_);
  return "";
}

std::string StoppingRules::after_epoch(uint32_t epoch, const EpochResult& e, Snapshot now,
                                       const std::string& diverged, nn::Model& model, RunResult& result) {
  if (!diverged.empty()) {
    good_.restore(model);
    result.best_epoch = good_.epoch;
    return "diverged";
  }
  good_ = std::move(now);
  result.best_epoch = e.epoch;
  if (cfg_.early_stop > 0) {
    const bool by_acc = cfg_.early_stop_metric != "val_loss";
    const double v = cfg_.early_stop_metric == "val_balanced_acc" ? e.val_balanced_acc
                     : by_acc                                     ? e.val_acc
                                                                  : e.val_loss;
    const double d = cfg_.early_stop_delta;
    if (epoch == 0 || (by_acc ? v > best_metric_ + d : v < best_metric_ - d)) {
      best_metric_ = v;
      best_ = good_;
      since_best_ = 0;
    } else if (++since_best_ >= cfg_.early_stop) {
      return "early_stopping";
    }
  }
  if (cfg_.target_acc > 0 && e.val_acc >= cfg_.target_acc) return "target_accuracy";
  if (cfg_.on_epoch && !cfg_.on_epoch(e)) return "abandoned";  // the caller's rule (fovea search --prune-trials)
  return "";
}

void StoppingRules::end(nn::Model& model, RunResult& result) const {
  if (cfg_.early_stop > 0 && result.stop_reason != "diverged" && best_.epoch != good_.epoch) {
    best_.restore(model);
    result.best_epoch = best_.epoch;
  }
}

void StoppingRules::fill(CheckpointState& c, const std::string& stop_reason, uint32_t final_epoch) const {
  c.first_loss = first_loss_;
  c.has_best = stop_reason.empty() && !best_.params.empty();
  c.best_epoch = stop_reason.empty() ? best_.epoch : final_epoch;
  if (c.has_best) c.best_params = best_.params, c.best_state = best_.state;
  c.best_batches_tracked = best_.batches_tracked;
  c.best_metric = best_metric_;
  c.since_best = since_best_;
  c.stop_reason = stop_reason;
}

}  // namespace fovea::train
