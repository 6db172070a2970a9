// The training run: data, split, model, the replayed step, metrics.jsonl,
// summary.json. The CLI fills a TrainConfig; tests call train() directly.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/sharpening.h"
#include "data/split.h"
#include "optim/lr_schedule.h"
#include "optim/optimizer.h"
#include "optim/penalty.h"

namespace fovea::gpu { class Context; }
namespace fovea::dist { class Comm; }

namespace fovea::train {

struct EpochResult;

struct TrainConfig {
  std::string model_path;
  std::string data_dir = "/usr/share/datasets/fashion-mnist";  // --data: any source (data/source.h)
  data::Resize resize = data::Resize::crop;  // image files of another size than the model's input
  bool cache = true;                         // the decoded-images cache (--no-cache: off)
  bool skip_bad_images = false;              // leave undecodable images out, listed, instead of failing
  std::string class_names;                   // --class-names FILE: names of IDX / integer-labelled classes
  std::string out_dir;  // required; the CLI defaults it to runs/<timestamp>
  uint32_t epochs = 1;
  uint32_t batch = 128;
  // Gradient accumulation: each optimizer step sums the gradients of this
  // many micro-batches of `batch` rows on the device (one batch of
  // accumulate x batch rows, up to float summation order; BatchNorm
  // normalises each micro-batch by its own statistics).
  uint32_t accumulate = 1;
  double lr = 0.01;               // lr0 of the schedule (the CLI's default: ops::default_lr)
  LrConfig lr_schedule;          // the decay and warm-up (its .lr is set from lr)
  ops::OptimConfig optim;         // the optimizer and its hyperparameters (default sgd, momentum 0.9)
  ops::RegularizeConfig regularize;  // --l1, --l2, --penalize-biases, --clip-norm, --clip-value
  uint64_t seed = 0;
  uint32_t limit = 0;            // 0 = every training image
  std::string val_split = "";    // "" = 1/12 of the kept images
  // An explicit (train, val) pair of training-file indices (cross-validation
  // sets it); limit and val_split then choose nothing.
  std::optional<data::Split> split;
  bool shuffle = true;           // false: every epoch visits the images in file order
  // Imbalanced classes (train/class_balance.h): --class-weights none,
  // balanced or W0,W1,... (the training loss only; val_loss stays
  // unweighted) and --sampler epoch or balanced.
  std::string class_weights = "none";
  std::string sampler = "epoch";
  // `fovea prune --fine-tune-epochs`: per weight tensor, the entries that
  // stay 0 through training (nn::ModelOptions::pruned).
  std::map<std::string, std::vector<uint32_t>> pruned;
  std::string init;              // a safetensors file to start from ("" = seeded init)
  bool init_partial = false;     // --init-partial: load the tensors whose name and shape match, list the rest
  std::string freeze;            // --freeze: layers (indices or names, comma-separated) left as they start
  std::optional<double> label_smoothing;  // --label-smoothing: overrides the spec's cross_entropy smoothing
  data::SharpenConfig sharpen;   // the input blur curriculum (none by default)
  double sharpen_replay = 0;     // fraction of each batch trained on the originals while blurred
  bool feature_smoothing = false;  // the same schedule on a 3x3 Gaussian after each conv2d
  std::string augment;             // --augment list (data/augment.h); "" = none
  std::vector<double> test_blur;   // also evaluate the test set blurred by each sigma
  std::vector<double> test_noise;  // ... and with Gaussian noise of each std ([0, 1] pixel units)
  std::vector<std::string> test_corrupt;  // ... and under each NAME=VALUE corruption (data/corrupt.h)
  std::vector<double> test_fgsm;   // ... and under FGSM of each eps ([0, 1] pixel units; model.h's attack)
  // Stopping rules (besides --epochs). Early stopping and the target watch
  // the validation set; the run then ends with the best epoch's weights.
  uint32_t early_stop = 0;               // patience in epochs (0 = off)
  std::string early_stop_metric = "val_loss";  // or val_acc, val_balanced_acc
  double early_stop_delta = 0;           // smallest change that counts as an improvement
  double target_acc = 0;                 // stop once val_acc reaches it (0 = off)
  double divergence_factor = 10;         // stop when an epoch's train loss > factor x the starting loss
  // Called after each epoch (once its line is written) unless a rule above
  // stopped the run; false ends the run there, stop_reason "abandoned", with
  // that epoch's weights (fovea search --prune-trials).
  std::function<bool(const EpochResult&)> on_epoch;
  // Called with the run directory once it exists (rank 0 only; `fovea
  // train` prints it), so no message names a directory a bad option or
  // input kept from being made.
  std::function<void(const std::string& dir)> on_run_dir;
  // The sharpness probe (probe/sharpness.h) after epochs E, 2E, ... (0 = off):
  // lambda_max on the first sharpness_images training images, Lanczos, top 1.
  uint32_t sharpness_every = 0;
  uint32_t sharpness_images = 256;
  bool profile = false;
  bool print_plan = false;       // print the recorded programs and memory, then return (no run directory)
  bool progress = true;          // a progress bar when stderr is a terminal
  std::string command_line;      // recorded in summary.json
  // Checkpoints: DIR/checkpoint.safetensors at the start, after every
  // `checkpoint_every` epochs and when the epochs are over (see
  // train/checkpoint.h). `args` are the settings it records (the train
  // command's arguments), which `fovea train --resume DIR` runs again with.
  uint32_t checkpoint_every = 1;
  std::vector<std::string> args;
  // Continue the run in out_dir from its checkpoint: the same settings give
  // the same tensors and metrics.jsonl lines (timing fields aside) as a run
  // never interrupted; metrics.jsonl is cut back to the checkpoint's epoch.
  bool resume = false;
  // Data-parallel training (src/dist): the processes of this run; null or
  // size 1 = one process. Every rank gets its shard of each global batch
  // (batch / size rows), the gradients are summed over the ranks, every rank
  // takes the same step; only rank 0 writes files.
  dist::Comm* comm = nullptr;
  // Synchronised BatchNorm statistics across the ranks (not implemented:
  // refused when the run has several ranks; BatchNorm uses each rank's shard).
  bool sync_bn = false;
};

struct EpochResult {
  uint32_t epoch = 0;  // 1-based
  double train_loss = 0, train_acc = 0, val_loss = 0, val_acc = 0;
  double val_balanced_acc = 0;  // the mean per-class recall on the validation images
  double lr = 0, blur_sigma = 0, seconds = 0, images_per_second = 0;
  double penalty = 0;  // the weight penalty of the epoch's final weights (not part of train_loss)
  std::array<uint32_t, 2> input_size = {0, 0};  // --sharpen pyramid: the images' [height, width] it trained on
  // The top Hessian eigenvalue of the epoch's final weights and 2 / lr
  // (the edge of stability of plain gradient descent), when probed.
  bool probed = false;
  double sharpness = 0, two_over_lr = 0;
  uint64_t train_images = 0, val_images = 0;
  // Data-parallel runs: wall seconds this rank spent in the gradient
  // all-reduce (host copy out, MPI_Allreduce, copy in) during the epoch.
  double allreduce_seconds = 0;
};

// The test set under one corruption ("blur" sigma, "noise" std or another
// name of data/corrupt.h).
struct CorruptedResult {
  std::string corruption;
  double value = 0, loss = 0, acc = 0;
};

struct RunResult {
  std::vector<EpochResult> epochs;
  // max_epochs, early_stopping, target_accuracy, abandoned (on_epoch) or diverged
  std::string stop_reason = "max_epochs";
  uint32_t best_epoch = 0;  // the epoch whose weights the run ended with (0 = the initial ones)
  std::vector<CorruptedResult> corrupted;
  double test_loss = 0, test_acc = 0;
  uint64_t test_images = 0;
  std::string device;
  uint32_t resumed_at = 0;  // the checkpoint's epoch when the run was resumed
};

// Trains on `ctx` and writes out_dir/metrics.jsonl (one line per epoch,
// flushed at the epoch's end), out_dir/checkpoint.safetensors and
// out_dir/model.safetensors (the weights) with every checkpoint and at the
// end, and out_dir/summary.json and out_dir/report.html (see
// report/report.h; its sample grid blurs training images on `ctx`) at the
// end. Throws fovea::Error; a run that diverges first writes its files
// (with the last good weights and stop_reason "diverged"), then throws.
RunResult train(gpu::Context& ctx, const TrainConfig& cfg);

}  // namespace fovea::train
