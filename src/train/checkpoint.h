// Checkpoints: everything a run needs to continue bit-identically from the
// end of an epoch, in one safetensors file (DIR/checkpoint.safetensors).
//
// Tensors: the parameters and layer state under the model's names (as in
// model.safetensors), "optimizer.state" (the optimizer's whole state block),
// and, with early stopping, "best.params" / "best.state" (the best epoch's
// weights, in the model's flat layout). Metadata (strings): "format"
// ("fovea-checkpoint-1"), "spec", "mean", "std" (as in model.safetensors),
// "world_size" (the data-parallel processes, see CheckpointState), "args"
// (the run's settings: the train command's arguments as a JSON array,
// --config already expanded), "command", and the counters of State (doubles
// in hexadecimal floating point, so they round-trip exactly).
//
// The sampler needs no state of its own: epoch e visits the images in the
// order seeded by (seed, e), and Philox draws are keyed by (seed, step), so
// (epoch, step) is the sampler's and the generators' position.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "optim/lr_schedule.h"

namespace fovea::nn { class Model; }

namespace fovea::train {

struct CheckpointState {
  uint32_t epoch = 0;           // epochs completed
  uint32_t step = 0;            // training steps taken
  uint64_t batches_tracked = 0; // BatchNorm's counter
  double first_loss = 0;        // the divergence rule's starting loss
  double feature_sigma = 0;     // the last step's feature smoothing sigma (evaluation uses it)
  LrSchedule::State lr;         // plateau bookkeeping
  // Early stopping.
  bool has_best = false;
  uint32_t best_epoch = 0;      // also: the epoch whose weights a finished run ended with
  uint64_t best_batches_tracked = 0;
  double best_metric = 0;
  uint32_t since_best = 0;
  std::vector<float> best_params, best_state;
  // "" while the run goes on; max_epochs, early_stopping, target_accuracy or
  // diverged once its epochs are over (the weights are then the final ones).
  std::string stop_reason;
  std::vector<std::string> args;
  std::string command;
  // The processes that trained it (mpirun -np N; "world_size", 1 when absent):
  // a resumed run must have as many, or its batches would split differently.
  uint32_t world_size = 1;
};

// Writes the model's weights, state and optimizer state with `s` to `path`,
// and the same weights alone (as save_weights) to `weights_path`, each
// atomically (temporary file, fsync, rename), from one download.
void write_checkpoint(const std::string& path, const std::string& weights_path, const nn::Model& model,
                      const std::vector<double>& mean, const std::vector<double>& std,
                      const CheckpointState& s);

// Loads a checkpoint into `model` (which must have been built from the same
// spec) and returns its state. Throws fovea::Error naming the file and the
// tensor or field on a truncated or malformed file, a file of another model
// or a tensor of the wrong shape.
CheckpointState read_checkpoint(const std::string& path, nn::Model& model);

// The settings stored in DIR/checkpoint.safetensors ("args"), for
// `fovea train --resume DIR`; throws fovea::Error when there is none.
std::vector<std::string> checkpoint_args(const std::string& run_dir);

}  // namespace fovea::train
