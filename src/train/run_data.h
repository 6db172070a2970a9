// A run's data: `--data` opened for the model with the run's decoding
// settings (data/source.h), and what summary.json records about it.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "data/source.h"
#include "data/split.h"
#include "nn/model_spec.h"
#include "train/trainer.h"

namespace fovea::train {

// The source options of a run: the model's input and classes and the
// config's decoding settings (--resize, --no-cache, --skip-bad-images,
// --class-names, the progress bar).
data::SourceOptions data_options(const TrainConfig& cfg, const nn::ModelSpec& spec);

// Opens cfg.data_dir for the model; prints a line about it (stdout) and
// one per skipped image (stderr).
data::Source open_data(const TrainConfig& cfg, const nn::ModelSpec& spec);

// summary.json's data_source: {kind, images: {train, val, test} (null when
// absent), input [C, H, W], resize, skip_bad_images, skipped_images}.
nlohmann::json source_json(const data::Source& ds, const TrainConfig& cfg);

// 0 .. set.count - 1.
std::vector<uint32_t> all_images(const data::ImageSet& set);

// The run's split of the training images: cfg.split (cv), the source's own
// validation set (then --val-split is refused), or the holdout.
data::Split run_split(const TrainConfig& cfg, const data::Source& ds);

}  // namespace fovea::train
