// prune_select: which weights magnitude pruning zeroes (host side, no
// Vulkan; ops/prune.h keeps them at zero on the GPU). The k smallest |w| are
// chosen with k = round(sparsity x n) (round half to even, as Python's
// round() in torch.nn.utils.prune), per tensor (scope Layer: n is the
// tensor's size) or over all the tensors together (Global: n is their total,
// as prune.global_unstructured). Ties in |w| go to the lower index, the
// tensors counted in the order given, so the choice is deterministic.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::ops {

enum class PruneScope { Layer, Global };

// "layer" or "global"; anything else throws fovea::Error naming --scope.
PruneScope parse_prune_scope(const std::string& name);

struct PruneTensor {
  std::string name;           // for error messages
  const float* values = nullptr;
  uint64_t size = 0;
};

// For each tensor, its zeroed indices in increasing order. Throws
// fovea::Error for a sparsity outside [0, 1] (naming --sparsity) or a
// non-finite value (naming the tensor and the index).
std::vector<std::vector<uint32_t>> select_pruned(const std::vector<PruneTensor>& tensors, double sparsity,
                                                 PruneScope scope);

// The fraction of exact zeros in values[0, size), 0 for an empty tensor.
double zero_fraction(const float* values, uint64_t size);

}  // namespace fovea::ops
