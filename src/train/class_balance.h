// Imbalanced classes in training: per-class loss weights (--class-weights),
// the class-balanced sampler (--sampler balanced) and the balanced accuracy
// (mean per-class recall) the validation pass reports as val_balanced_acc.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::train {

// --class-weights: "none" (empty: the plain loss), "balanced" (n / (K n_c)
// over the training images `indices` of `labels`, n their count, K the
// classes; a class with no training image weighs 0) or "W0,W1,..." (K
// finite weights >= 0, not all 0). Throws fovea::Error naming
// --class-weights and the value.
std::vector<float> class_weights(const std::string& text, const std::vector<uint32_t>& labels,
                                 const std::vector<uint32_t>& indices, uint32_t classes);

// --sampler: "epoch" (every training image once per epoch) or "balanced".
// Throws fovea::Error naming --sampler.
bool balanced_sampler(const std::string& text);

// The balanced sampler's epoch `epoch` (0-based): as many draws as
// `indices` holds, each a class drawn uniformly among those with training
// images, then one of its images uniformly (with replacement); seeded from
// (seed, epoch), independent of every other epoch.
std::vector<uint32_t> balanced_order(const std::vector<uint32_t>& indices, const std::vector<uint32_t>& labels,
                                     uint32_t classes, uint64_t seed, uint32_t epoch);

// Per-class recall counts of one pass.
struct ClassRecall {
  std::vector<double> correct, count;  // [classes]; doubles, to be summed over ranks
  explicit ClassRecall(uint32_t classes) : correct(classes, 0), count(classes, 0) {}
  // The row's label and the argmax (first maximum) of its logits.
  void add(uint32_t label, const float* logits);
  // The mean recall over the classes with images (0 with none).
  double balanced_accuracy() const;
};

}  // namespace fovea::train
