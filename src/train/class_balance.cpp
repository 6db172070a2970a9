#include "train/class_balance.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "util/error.h"
#include "util/rng.h"

namespace fovea::train {

std::vector<float> class_weights(const std::string& text, const std::vector<uint32_t>& labels,
                                 const std::vector<uint32_t>& indices, uint32_t classes) {
  if (text == "none") return {};
  std::vector<float> w;
  if (text == "balanced") {
    std::vector<uint64_t> n(classes, 0);
    for (uint32_t i : indices) n[labels[i]]++;
    for (uint32_t k = 0; k < classes; ++k)
      w.push_back(n[k] ? float(double(indices.size()) / (double(classes) * double(n[k]))) : 0.0f);
    return w;
  }
  std::stringstream parts(text);
  double sum = 0;
  for (std::string part; std::getline(parts, part, ',');) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size() || !std::isfinite(v) || v < 0)
      throw Error("--class-weights: '" + part + "' in '" + text +
                  "' is not a finite weight >= 0 (give none, balanced or one weight per class)");
    w.push_back(float(v));
    sum += v;
  }
  if (w.size() != classes)
    throw Error("--class-weights '" + text + "' has " + std::to_string(w.size()) + " weights for the model's " +
                std::to_string(classes) + " classes");
  if (!(sum > 0)) throw Error("--class-weights '" + text + "': every weight is 0");
  return w;
}

bool balanced_sampler(const std::string& text) {
  if (text != "epoch" && text != "balanced")
    throw Error("--sampler must be epoch or balanced, got '" + text + "'");
  return text == "balanced";
}

std::vector<uint32_t> balanced_order(const std::vector<uint32_t>& indices, const std::vector<uint32_t>& labels,
                                     uint32_t classes, uint64_t seed, uint32_t epoch) {
  std::vector<std::vector<uint32_t>> by_class(classes);
  for (uint32_t i : indices) by_class[labels[i]].push_back(i);
  std::vector<const std::vector<uint32_t>*> present;
  for (const auto& c : by_class)
    if (!c.empty()) present.push_back(&c);
  // Its own stream: 0x62616c61 is "bala".
  data::Rng rng(seed * 0x9E3779B97F4A7C15ull ^ (0x62616c61ull << 32 | epoch));
  std::vector<uint32_t> order;
  order.reserve(indices.size());
  for (size_t n = 0; n < indices.size(); ++n) {
    const std::vector<uint32_t>& c = *present[rng.below(present.size())];
    order.push_back(c[rng.below(c.size())]);
  }
  return order;
}

void ClassRecall::add(uint32_t label, const float* logits) {
  const size_t K = count.size();
  count[label] += 1;
  if (size_t(std::max_element(logits, logits + K) - logits) == label) correct[label] += 1;
}

double ClassRecall::balanced_accuracy() const {
  double sum = 0;
  uint32_t seen = 0;
  for (size_t k = 0; k < count.size(); ++k)
    if (count[k] > 0) sum += correct[k] / count[k], ++seen;
  return seen ? sum / seen : 0;
}

}  // namespace fovea::train
