#include "train/prune_run.h"

#include "util/error.h"

namespace fovea::train {

std::vector<std::string> prunable_tensors(const nn::ModelSpec& spec, const io::SafetensorsFile& weights) {
  std::vector<std::string> out;
  for (size_t n = 0; n < spec.layers.size(); ++n) {
    const nn::LayerSpec& l = spec.layers[n];
    if (l.type != nn::LayerType::Dense && l.type != nn::LayerType::Conv2d &&
        l.type != nn::LayerType::ConvTranspose2d)
      continue;
    for (const char* suffix : {".weight", ".weight_orig"}) {
      const std::string name = nn::tensor_prefix(l, n) + suffix;
      if (weights.find(name)) out.push_back(name);
    }
  }
  return out;
}

std::map<std::string, std::vector<uint32_t>> prune_weights(const nn::ModelSpec& spec, io::SafetensorsFile& weights,
                                                           double sparsity, ops::PruneScope scope) {
  const std::vector<std::string> names = prunable_tensors(spec, weights);
  if (names.empty()) throw Error("model " + spec.path + " has no dense, conv2d or conv_transpose2d weights to prune");
  std::vector<ops::PruneTensor> tensors;
  for (const std::string& n : names) {
    const io::Tensor* t = weights.find(n);
    tensors.push_back({n, t->data.data(), t->data.size()});
  }
  const std::vector<std::vector<uint32_t>> chosen = ops::select_pruned(tensors, sparsity, scope);
  std::map<std::string, std::vector<uint32_t>> mask;
  for (io::Tensor& t : weights.tensors) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (t.name != names[i] || chosen[i].empty()) continue;
      for (uint32_t k : chosen[i]) t.data[k] = 0.0f;
      mask[t.name] = chosen[i];
    }
  }
  return mask;
}

std::vector<TensorSparsity> measure_sparsity(const nn::ModelSpec& spec, const io::SafetensorsFile& weights) {
  std::vector<TensorSparsity> out;
  for (const std::string& n : prunable_tensors(spec, weights)) {
    const io::Tensor* t = weights.find(n);
    TensorSparsity s{n, t->data.size(), 0};
    for (float v : t->data) s.zeros += v == 0.0f;
    out.push_back(s);
  }
  return out;
}

uint64_t mask_violations(const std::map<std::string, std::vector<uint32_t>>& mask, const io::SafetensorsFile& weights) {
  uint64_t bad = 0;
  for (const auto& [name, indices] : mask) {
    const io::Tensor* t = weights.find(name);
    if (!t) throw Error("internal: no tensor " + name + " after fine-tuning");
    for (uint32_t k : indices) bad += t->data.at(k) != 0.0f;
  }
  return bad;
}

}  // namespace fovea::train
