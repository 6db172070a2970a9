// Learning-rate schedules: host math; the value of each step goes to the
// per-step parameter buffer, so the recorded step never changes. The decays
// follow torch.optim.lr_scheduler, stepped once per epoch (the rate is
// constant within an epoch); warm-up is per step. With W warm-up epochs, the
// decay's epoch count e starts at 0 when warm-up ends:
//
//   constant      lr0
//   step          lr0 gamma^floor(e / step_size)                 (StepLR)
//   multistep     lr0 gamma^(milestones <= e)                    (MultiStepLR)
//   exponential   lr0 gamma^e                                    (ExponentialLR)
//   inverse-time  lr0 / (1 + decay e)                            (1/t)
//   inverse-sqrt  lr0 / sqrt(1 + decay e)
//   cosine        lr_min + (lr0 - lr_min) (1 + cos(pi e_i / T_i)) / 2
//                 (CosineAnnealingLR with T = the epochs after warm-up; with
//                 restart T0 > 0, CosineAnnealingWarmRestarts: cycles of
//                 T0, T0 mult, T0 mult^2, ... epochs)
//   plateau       lr0, multiplied by gamma (not below lr_min) after
//                 `patience` epochs without a relative improvement of
//                 `threshold` in the validation loss (ReduceLROnPlateau,
//                 mode min, threshold_mode rel; the training loss when there
//                 is no validation set)
//
// Warm-up over W epochs (t = epochs so far, per step, t < W):
//   linear        lr(0) (start + (1 - start) t / W)
//   exponential   lr(0) start^(1 - t / W)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::train {

struct LrConfig {
  std::string schedule = "constant";  // --lr-schedule
  double lr = 0.01;                   // --lr (lr0)
  uint32_t step_size = 10;            // --lr-step-size (step)
  double gamma = -1;                  // --lr-gamma; < 0: 0.1 (step, multistep, plateau), 0.9 (exponential)
  std::vector<uint32_t> milestones;   // --lr-milestones (multistep)
  double decay = 1.0;                 // --lr-decay (inverse-time, inverse-sqrt)
  double lr_min = 0;                  // --lr-min (cosine, plateau)
  uint32_t restart = 0;               // --lr-restart T0 (cosine; 0 = no restarts)
  uint32_t restart_mult = 1;          // --lr-restart-mult
  double warmup_epochs = 0;           // --warmup-epochs
  std::string warmup = "linear";      // --warmup linear|exponential
  double warmup_start = 0.01;         // --warmup-start: fraction of the rate at the first step
  uint32_t patience = 10;             // --plateau-patience
  double threshold = 1e-4;            // --plateau-threshold (relative)
};

class LrSchedule {
 public:
  // Checks the configuration against a run of `epochs`; throws fovea::Error
  // naming the option and value.
  LrSchedule(const LrConfig& c, uint32_t epochs);

  // The rate of the step at position t epochs from the start (epoch
  // floor(t), fraction t - floor(t) of it done).
  double rate(double t) const;
  // Reports the epoch's validation loss (plateau: may reduce the rate for
  // the following epochs). Call once at the end of every epoch.
  void end_epoch(double loss);

  std::string describe() const;
  const LrConfig& config() const { return c_; }

  // What end_epoch() has accumulated (plateau), for checkpoints.
  struct State {
    double best = 0, factor = 1;
    bool has_best = false;
    uint32_t bad_epochs = 0;
  };
  State state() const { return {best_, factor_, has_best_, bad_epochs_}; }
  void set_state(const State& s) { best_ = s.best, factor_ = s.factor, has_best_ = s.has_best, bad_epochs_ = s.bad_epochs; }

 private:
  double decayed(uint32_t e) const;  // the decay's rate at its epoch e (after warm-up)
  LrConfig c_;
  uint32_t epochs_;
  double gamma_;
  // plateau state
  double best_ = 0, factor_ = 1;
  bool has_best_ = false;
  uint32_t bad_epochs_ = 0;
};

}  // namespace fovea::train
