// `fovea search`'s pieces that need no device: the search space file
// (SPACE.json), the seeded trials it gives, DIR/search.jsonl (read back for
// --resume) and the choice of the best trial. The command (src/cli/search.cpp)
// turns a trial's settings into a run through the train options' own
// parsing; train/search.h runs the trials.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace fovea::train {

// One searched option: a list of values (grid or random choice) or a range
// drawn uniformly, or uniformly in log space (random search only).
struct SearchDim {
  enum class Kind { list, uniform, log_uniform };
  std::string key;  // a long option name without the dashes, e.g. "lr"
  Kind kind = Kind::list;
  std::vector<nlohmann::json> values;  // Kind::list: numbers, strings, booleans or arrays of them
  double lo = 0, hi = 0;               // the ranges
  bool integer = false;                // a range of a whole-number option: draws are rounded
};

// SPACE.json's dimensions in the file's order. Throws fovea::Error naming
// `path` (and the key) when the file is unreadable, not a non-empty object,
// or a value is neither a non-empty list nor {"uniform"|"log_uniform": [lo, hi]}
// with finite lo < hi (lo > 0 for log_uniform).
std::vector<SearchDim> read_search_space(const std::string& path);

// The settings of `trials` trials, each a JSON object {key: value}.
// random: trial i draws every dimension from one generator seeded by
// `seed`, in order (list: a uniform choice; ranges: rounded to 4
// significant digits, to whole numbers when `integer`), so the same seed
// gives the same trials and a longer search begins with a shorter one's.
// grid: every combination, the file's first key varying slowest, the first
// `trials` of them (all when trials is 0 or more than the grid); a range
// there is an error naming `path` and the key.
std::vector<nlohmann::json> search_trials(const std::vector<SearchDim>& space, const std::string& method,
                                          uint32_t trials, uint64_t seed, const std::string& path);

// The product of the list sizes (the grid's size), saturating at 2^32 - 1.
uint64_t grid_size(const std::vector<SearchDim>& space);

// A finished trial as DIR/search.jsonl records it.
struct TrialRecord {
  uint32_t trial = 0;
  nlohmann::json settings;  // the searched options' values
  std::optional<double> mean, std;  // the metric over the trial's runs (none: the trial diverged)
  std::optional<double> epoch1;     // the metric after the first epoch (of the first split)
  bool pruned = false;              // --prune-trials stopped it after epoch 1
  std::string stop_reason;
  double seconds = 0;
};

nlohmann::json trial_json(const TrialRecord& r, const std::string& metric);

// DIR/search.jsonl's trial lines in order (a missing file: none). A last
// line cut short (a search killed while writing it) is dropped, and the file
// rewritten without it; any other bad line is an error naming the file and
// line.
std::vector<TrialRecord> read_search_log(const std::string& path);

// Whether `value` beats `best` under the metric (val_acc: higher; val_loss: lower).
bool metric_better(const std::string& metric, double value, double best);

// The index (into `records`) of the best trial not pruned and not diverged,
// ties to the earlier; none when there is no such trial.
std::optional<size_t> best_trial(const std::vector<TrialRecord>& records, const std::string& metric);

// --prune-trials: whether a trial whose metric after epoch 1 is `value` is
// in the worst half of the earlier trials' epoch-1 values (worse than their
// median; needs at least two of them).
bool prune_trial(const std::vector<TrialRecord>& earlier, const std::string& metric, double value);

}  // namespace fovea::train
