#include "ops/prune_select.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/error.h"

namespace fovea::ops {
namespace {

// An entry of the ranking: |w| and its position (tensor t, index i); the
// order (|w|, t, i) is total, so nth_element's choice is unique.
struct Entry {
  float magnitude;
  uint32_t tensor, index;
  bool operator<(const Entry& o) const {
    if (magnitude != o.magnitude) return magnitude < o.magnitude;
    return tensor != o.tensor ? tensor < o.tensor : index < o.index;
  }
};

uint64_t prune_count(double sparsity, uint64_t n) { return uint64_t(std::nearbyint(sparsity * double(n))); }

// Appends the k smallest of `entries` to their tensors' lists.
void take_smallest(std::vector<Entry>& entries, uint64_t k, std::vector<std::vector<uint32_t>>& out) {
  if (k == 0) return;
  if (k < entries.size()) std::nth_element(entries.begin(), entries.begin() + int64_t(k - 1), entries.end());
  for (uint64_t j = 0; j < k && j < entries.size(); ++j) out[entries[j].tensor].push_back(entries[j].index);
}

}  // namespace

PruneScope parse_prune_scope(const std::string& name) {
  if (name == "layer") return PruneScope::Layer;
  if (name == "global") return PruneScope::Global;
  throw Error("--scope: unknown value '" + name + "': valid values are layer, global");
}

std::vector<std::vector<uint32_t>> select_pruned(const std::vector<PruneTensor>& tensors, double sparsity,
                                                 PruneScope scope) {
  if (!(sparsity >= 0.0 && sparsity <= 1.0))
    throw Error("--sparsity: " + std::to_string(sparsity) + " is outside [0, 1]");
  std::vector<std::vector<uint32_t>> out(tensors.size());
  std::vector<Entry> entries;
  for (uint32_t t = 0; t < tensors.size(); ++t) {
    const PruneTensor& w = tensors[t];
    if (w.size > std::numeric_limits<uint32_t>::max())
      throw Error("pruning " + w.name + ": " + std::to_string(w.size) + " values is more than 2^32 - 1");
    if (scope == PruneScope::Layer) entries.clear();
    for (uint32_t i = 0; i < w.size; ++i) {
      if (!std::isfinite(w.values[i]))
        throw Error("pruning " + w.name + ": value " + std::to_string(i) + " is not finite");
      entries.push_back({std::fabs(w.values[i]), t, i});
    }
    if (scope == PruneScope::Layer) take_smallest(entries, prune_count(sparsity, w.size), out);
  }
  if (scope == PruneScope::Global) take_smallest(entries, prune_count(sparsity, entries.size()), out);
  for (auto& list : out) std::sort(list.begin(), list.end());
  return out;
}

double zero_fraction(const float* values, uint64_t size) {
  if (size == 0) return 0.0;
  uint64_t zeros = 0;
  for (uint64_t i = 0; i < size; ++i) zeros += values[i] == 0.0f;
  return double(zeros) / double(size);
}

}  // namespace fovea::ops
