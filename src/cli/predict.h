// `fovea predict --run DIR IMAGE_OR_FOLDER... [--top 3] [--json]`: the
// subcommand's options and its run (train/predict.h does the work).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::cli {

struct PredictCommand {
  CLI::App* app = nullptr;
  std::string run, device;
  std::vector<std::string> inputs;
  uint32_t top = 3;
  bool json = false, validate = false;
};

// Declares `fovea predict` on `app`; `c` must outlive the parse.
void add_predict(CLI::App& app, PredictCommand& c);

// Answers every image (a folder: its image files in bytewise order of
// their names) in the order given: one line each on stdout (with --json
// one JSON object per line and nothing else; logs on stderr). A bad image
// is reported on stderr and the others are answered. Returns the exit
// status: 0, 1 if any image failed, 3 if the validation layer spoke.
// Throws fovea::Error for a bad run directory or option.
int run_predict(const PredictCommand& c);

}  // namespace fovea::cli
