// Cross-validation: one fresh training run per split of the kept images
// (data::make_cv_splits), each a normal run in DIR/split-<i>; per-split
// results and their mean and sample standard deviation in DIR/cv.jsonl and
// a table on stdout.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "data/split.h"
#include "train/trainer.h"

namespace fovea::gpu { class Context; }

namespace fovea::train {

struct CvConfig {
  TrainConfig train;     // every split's settings; train.out_dir is the cv directory DIR
  data::CvSettings cv;   // the protocol and its folds, repeats, p, max_splits (val: from train.val_split)
};

struct CvSplitResult {
  uint32_t index = 0, repeat = 0, fold = 0;
  uint64_t train_images = 0, val_images = 0;
  // The validation metrics of the epoch whose weights the run kept (the last
  // one, or the best one under --early-stop); the test metrics of those weights.
  double val_loss = 0, val_acc = 0, test_loss = 0, test_acc = 0;
  uint32_t epochs_run = 0;
  std::string stop_reason;
  double seconds = 0;  // wall time of the split's whole run
};

// Mean and sample standard deviation (divisor n - 1; NaN for one value).
struct MeanStd {
  double mean = 0;
  double std = std::numeric_limits<double>::quiet_NaN();
};
MeanStd mean_std(const std::vector<double>& values);

struct CvResult {
  std::vector<CvSplitResult> splits;
  MeanStd val_acc, val_loss, test_acc, test_loss;
};

// Makes the splits of the first --limit training images, then trains one
// model per split (the same settings and seed, so the same initial weights)
// into DIR/split-<i>, appending a line to DIR/cv.jsonl as each finishes and
// a summary line at the end. Bad settings throw fovea::Error before any file
// is written; a directory that holds a run (cv.jsonl or metrics.jsonl) is
// refused. With print_plan, prints the first split's plan and returns.
CvResult cross_validate(gpu::Context& ctx, const CvConfig& cfg);

}  // namespace fovea::train
