// `fovea prune`: magnitude pruning of a finished run's weights. The weight
// tensors of dense, conv2d and conv_transpose2d layers ("weight", or
// spectral norm's "weight_orig") lose their smallest-magnitude entries
// (ops/prune_select.h: per tensor or over all of them); biases and
// normalisation parameters are untouched. Fine-tuning keeps the mask fixed
// (nn::ModelOptions::pruned).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "nn/model_spec.h"
#include "ops/prune_select.h"

namespace fovea::train {

// The names of the prunable tensors of `spec` present in `weights`, in
// layer order.
std::vector<std::string> prunable_tensors(const nn::ModelSpec& spec, const io::SafetensorsFile& weights);

// Zeroes the selected entries of `weights` in place and returns them per
// tensor (only tensors with at least one entry). Throws fovea::Error as
// ops::select_pruned, or when the model has no prunable tensor.
std::map<std::string, std::vector<uint32_t>> prune_weights(const nn::ModelSpec& spec, io::SafetensorsFile& weights,
                                                           double sparsity, ops::PruneScope scope);

// One prunable tensor's sparsity: its exact zeros over its size.
struct TensorSparsity {
  std::string tensor;
  uint64_t size = 0, zeros = 0;
  double fraction() const { return size ? double(zeros) / double(size) : 0; }
};
std::vector<TensorSparsity> measure_sparsity(const nn::ModelSpec& spec, const io::SafetensorsFile& weights);

// How many of `mask`'s entries are not 0 in `weights` (0 when the mask held).
uint64_t mask_violations(const std::map<std::string, std::vector<uint32_t>>& mask, const io::SafetensorsFile& weights);

}  // namespace fovea::train
