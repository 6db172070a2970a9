// The run report's blur-sigma chart: the sigma every training step used,
// drawn as steps where the schedule holds levels (step, constant, list)
// and as a ramp where it falls every step (linear, cosine, exponential).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fovea::report {

// What summary.json records of a run's sharpening schedule and steps.
struct ScheduleRecord {
  std::string spec;            // --sharpen as given, e.g. "step" or "list:3,2@2"
  double sigma0 = 0;           // --sigma0
  int64_t sharpen_epochs = -1; // --sharpen-epochs (-1: the schedule's default)
  uint32_t levels = 1;         // --levels
  uint32_t epochs = 0;         // --epochs
  uint64_t train_images = 0;   // images per epoch
  uint64_t batch = 0;          // the (global) batch
};

// Points over the run's position in epochs (epoch e spans [e - 1, e]).
struct SigmaCurve {
  std::vector<double> x, y;
  bool steps = true;  // each y holds from its x to the next x, the last to x_end
  double x_end = 0;
  bool per_step = false;  // from the schedule, step by step (else one value per epoch)
};

// Curves with more points than this (schedules that change every step) are
// drawn as a ramp through evenly chosen steps.
inline constexpr size_t kMaxCurvePoints = 300;
// Runs of more steps than this are drawn from the epochs' sigmas instead.
inline constexpr uint64_t kMaxCurveSteps = 10'000'000;

// The curve of `epochs_run` epochs: with `record`, the schedule's sigma at
// every step (step i of epoch e is at e + i batch / train_images, as
// training evaluates it), kept where it changes; without (or past
// kMaxCurveSteps steps), `epoch_sigmas`
// (metrics.jsonl's blur_sigma, the sigma at each epoch's start) held for the
// epoch, or joined by a ramp when `kind` falls every step. Throws
// fovea::Error on a record the schedule refuses.
SigmaCurve sigma_curve(const std::optional<ScheduleRecord>& record, const std::string& kind,
                       const std::vector<double>& epoch_sigmas);

}  // namespace fovea::report
