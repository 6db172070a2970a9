// `fovea predict`: a finished run's answer for single image files, decoded,
// resized and standardised exactly as the run's training data was (its
// model input, --resize and per-channel mean and std), run through the
// evaluation program, and turned into class probabilities (softmax of the
// logits, in double).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/evaluate.h"

namespace fovea::gpu { class Context; }

namespace fovea::train {

struct ClassProbability {
  uint32_t label = 0;        // the class index: the logit column
  double probability = 0;
};

struct Prediction {
  std::string path;
  std::string error;                   // "" = answered; else the one-line message
  std::vector<ClassProbability> top;   // most probable first (ties: lower label first)
};

// softmax(logits) over `classes` values, in double (the largest logit
// subtracted first).
std::vector<double> softmax(const float* logits, uint32_t classes);

// The `top` most probable classes of each file, in the order given (top is
// capped at the run's class count). A file that cannot be read or decoded
// gets its message in `error`; the others are still answered. Throws
// fovea::Error when top is 0.
std::vector<Prediction> predict_files(gpu::Context& ctx, const RunInfo& run, const std::vector<std::string>& files,
                                      uint32_t top);

// One JSON object on one line: {"path", "top": [{"class", "label", "probability"}, ...]}.
std::string prediction_json(const RunInfo& run, const Prediction& p);
// One line: "PATH: NAME 0.9123, NAME 0.0500, ...".
std::string prediction_text(const RunInfo& run, const Prediction& p);

}  // namespace fovea::train
