// Shared by the loss tests: random labels, and the per-row [loss, correct]
// stats a loss kernel writes, split into two columns. Header only.
#pragma once
#include <cstdint>
#include <vector>

#include "data/split.h"

namespace fovea::test {

inline std::vector<uint32_t> random_labels(uint32_t batch, uint32_t classes, uint64_t seed) {
  data::Rng rng(seed);
  std::vector<uint32_t> labels(batch);
  for (auto& l : labels) l = uint32_t(rng.below(classes));
  return labels;
}

// stats: [batch, 2] -> loss[b] = stats[b, 0], correct[b] = stats[b, 1].
inline void split_stats(const std::vector<float>& stats, uint32_t batch, std::vector<float>& loss,
                        std::vector<float>& correct) {
  for (uint32_t b = 0; b < batch; ++b) {
    loss.push_back(stats[2 * b]);
    correct.push_back(stats[2 * b + 1]);
  }
}

}  // namespace fovea::test
