// `fovea search`: hyperparameter search by trials, each a normal training
// run (or a cross-validation with a protocol) in DIR/trial-<i>; a line per
// finished trial in DIR/search.jsonl, resumable; the best settings as a run
// config (DIR/best.json) and a report (DIR/report.html).
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/split.h"
#include "train/search_space.h"
#include "train/trainer.h"

namespace fovea::gpu { class Context; }

namespace fovea::train {

struct SearchConfig {
  std::string out_dir;     // DIR
  std::string space_path;  // SPACE.json, for messages
  std::vector<SearchDim> space;
  std::vector<nlohmann::json> trials;  // each trial's settings (search_trials)
  std::string metric = "val_acc";      // or val_loss
  bool prune = false;                  // --prune-trials
  bool resume = false;                 // continue the search in DIR
  std::optional<data::CvSettings> protocol;  // a cross-validation per trial
  // The train options given besides the space, as a run config: a trial's
  // run config is base + its settings + {"out": DIR/trial-<i>}, and
  // best.json is base + the best settings.
  nlohmann::json base = nlohmann::json::object();
  // What a resumed search must share with the one it continues (all but
  // the number of trials); written to DIR/search.json.
  nlohmann::json identity = nlohmann::json::object();
  // A trial's TrainConfig from its run config, parsed and checked as the
  // command line's options are; throws fovea::Error.
  std::function<TrainConfig(const nlohmann::json& run_config)> make_config;
};

struct SearchResult {
  std::vector<TrialRecord> trials;
  std::optional<size_t> best;
};

// Every trial's settings parsed and checked as on the command line (an
// error names SPACE.json, the trial and its settings); writes nothing.
void check_search(const SearchConfig& cfg);

// Checks every trial's settings before anything is written (an error names
// SPACE.json and the trial), then runs the trials not yet in
// DIR/search.jsonl (a trial directory without its line is removed and run
// again), appending a line as each ends; then prints the best trial and
// writes DIR/best.json and DIR/report.html. A trial that diverges is
// recorded (mean null) and the search goes on; any other failure stops it.
SearchResult run_search(gpu::Context& ctx, const SearchConfig& cfg);

}  // namespace fovea::train
