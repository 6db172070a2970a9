// `fovea audit`: which training images look mislabelled. Each image's
// predicted class distribution (softmax of the logits, in double) gives the
// probability of its given label and the margin p(label) - max over the
// other classes; the most suspect come first (lowest p(label), then lowest
// margin, then lower index). Per class: images, accuracy and mean loss.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/idx.h"

namespace fovea::train {

struct AuditImage {
  uint32_t index = 0;      // position in the training data file
  uint32_t label = 0, predicted = 0;
  double p_label = 0, margin = 0;
  double loss = 0;         // -log p(label), floored at the smallest normal double
};

struct AuditClass {
  uint32_t images = 0, correct = 0;
  double loss = 0;  // summed; mean_loss() divides
  double accuracy() const { return images ? double(correct) / images : 0; }
  double mean_loss() const { return images ? loss / images : 0; }
};

struct AuditResult {
  bool in_sample = true;
  uint32_t folds = 0;               // 0 = the run's own (in-sample) predictions
  std::vector<AuditImage> images;   // most suspect first
  std::vector<AuditClass> classes;  // by label
};

// One image's row of `classes` logits.
AuditImage audit_row(uint32_t index, uint32_t label, const float* logits, uint32_t classes);

// Sorts most suspect first and fills the per-class figures.
void finish_audit(AuditResult& r, uint32_t classes);

// {"in_sample", "folds", "images": [{"index", "label", "predicted", "p_label", "margin"}, ...], "classes":
// [{"class", "name", "images", "accuracy", "mean_loss"}, ...]}.
std::string audit_json(const AuditResult& r, const std::vector<std::string>& names);

// The printed table: the `top` most suspect images, then the classes.
std::string audit_table(const AuditResult& r, const std::vector<std::string>& names, uint32_t top);

// An HTML page with the `top` most suspect images as a grid of inline PNGs
// (`set` holds them by index), each captioned given vs predicted class.
std::string audit_html(const AuditResult& r, const std::vector<std::string>& names, const data::ImageSet& set,
                       uint32_t top, const std::string& run);

}  // namespace fovea::train
