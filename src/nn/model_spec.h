// The model spec: a JSON file naming the input shape, the class count and
// the layer list. Parsing checks every field and the shapes; errors name the
// file, the layer index and the field.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::nn {

enum class LayerType { Flatten, Dense, Relu };

struct LayerSpec {
  LayerType type = LayerType::Flatten;
  uint32_t units = 0;  // dense: output features
  bool bias = true;    // dense: optional "bias": false
};

struct ModelSpec {
  std::string path;  // the file it came from, for messages
  uint32_t channels = 0, height = 0, width = 0;
  uint32_t classes = 0;
  std::vector<LayerSpec> layers;
  uint32_t input_features() const { return channels * height * width; }
};

// {"input": [C, H, W], "classes": K, "layers": [{"type": "flatten"},
//  {"type": "dense", "units": 256}, {"type": "relu"}, ...]}
// Rules: C, H, W in 1..4096 and C*H*W <= 2^26; K in 2..16384; at least one
// layer; "type" one of flatten|dense|relu; dense needs "units" in 1..65536
// and optional boolean "bias"; a dense layer needs a flat input (flat means
// after a flatten layer, or C == H == 1); unknown or repeated keys, at the
// top level or in a layer, are errors; the last layer's output must be flat
// with exactly K features. Throws fovea::Error like
//   "model assets/models/x.json: layers[2] (dense): 'units' must be a positive integer, got -3".
ModelSpec parse_model_spec_text(const std::string& text, const std::string& path);
ModelSpec load_model_spec(const std::string& path);

const char* layer_type_name(LayerType t);

}  // namespace fovea::nn
