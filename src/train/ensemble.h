// Ensembles of finished runs (`fovea ensemble`, `fovea export --runs`):
// the members' softmax outputs averaged, with weights if asked. Members
// must take the same input and name the same classes in the same order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/evaluate.h"

namespace fovea::gpu { class Context; }

namespace fovea::train {

// Loads each run directory (load_run) and checks they can be ensembled:
// the same input shape [C, H, W] and the same classes (count and names, in
// order). Throws fovea::Error naming the first member that differs from the
// first run and what differs; also for an empty list.
std::vector<RunInfo> load_ensemble(const std::vector<std::string>& dirs);

// The members' weights normalised to sum 1: `given` empty = equal weights;
// else one finite weight >= 0 per member with a positive sum (the error
// names --weights and the value).
std::vector<double> ensemble_weights(const std::vector<double>& given, size_t members);

struct EnsembleMember {
  std::string run;
  double loss = 0, accuracy = 0;  // the member alone (as fovea eval reports it)
};

struct EnsembleResult {
  std::string split, data_dir;
  std::vector<EnsembleMember> members;
  std::vector<double> weights;        // normalised, one per member
  uint64_t images = 0;
  uint32_t classes = 0;
  // Mean over the images of -log p(label) (p floored at the smallest normal
  // double) and the fraction whose most probable class (first maximum) is
  // the label, p = sum_i w_i softmax(logits_i) in double.
  double loss = 0, accuracy = 0;
  std::vector<double> probabilities;  // [images, classes], the split's image order
};

// Evaluates every member on the same split of the same data (`opts`;
// data_dir "" = the first member's data) and their weighted mean of
// softmaxes. With --split val each member's holdout is rebuilt from its
// own settings: members that held out different images are an error naming
// the member. Throws fovea::Error as evaluate_run does.
EnsembleResult evaluate_ensemble(gpu::Context& ctx, const std::vector<RunInfo>& runs,
                                 const std::vector<double>& weights, const EvalOptions& opts);

// {"members": [{"run", "loss", "accuracy", "weight"}, ...], "ensemble":
// {"loss", "accuracy"}, "images", "split", "data"}.
std::string ensemble_json(const EnsembleResult& r);
// One line per member and one for the ensemble.
std::string ensemble_table(const EnsembleResult& r);

}  // namespace fovea::train
