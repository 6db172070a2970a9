// `fovea train --resume DIR`: the run's checkpoint loaded into the model and
// checked against this run (as many ranks, not finished yet), and
// metrics.jsonl cut back to the checkpoint's epoch (the lines after it
// belong to epochs the checkpoint does not hold).
#pragma once
#include <filesystem>

#include "nn/model.h"
#include "train/checkpoint.h"
#include "train/run_support.h"
#include "train/trainer.h"

namespace fovea::train {

// Loads out/checkpoint.safetensors into `model`; result gets the kept
// epochs and resumed_at. Throws fovea::Error naming the directory.
CheckpointState resume_run(const std::filesystem::path& out, nn::Model& model, const Ranks& ranks,
                           RunResult& result);

}  // namespace fovea::train
