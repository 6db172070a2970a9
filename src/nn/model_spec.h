// The model spec: a JSON file naming the input shape, the class count and
// the layer list, a graph by name where a layer takes another's output.
// Parsing checks every field and infers every shape; errors name the file,
// the layer index and the field.
//
// {"input": [C, H, W], "classes": K, "layers": [
//    {"type": "conv2d", "out_channels": 32, "kernel": 3, "padding": 1},
//    {"type": "relu", "name": "a"},
//    {"type": "conv2d", "out_channels": 32, "kernel": 3, "padding": 1},
//    {"type": "add", "inputs": ["a", "layers.2"]}, ...]}
//
// Every layer takes "type", optional "name" (unique; default "layers.<i>")
// and optional "inputs" (names of earlier layers or "input"; default: the
// previous layer, or the model input for the first). Layer fields, with
// PyTorch's names and defaults (kernel, stride, padding, dilation: an
// integer or [h, w]):
//   flatten                                   [C, H, W] -> [C*H*W] (C, H, W order)
//   reshape {shape: [C, H, W]}                same number of values
//   dense {units, bias=true}                  needs a flat input
//   conv2d {out_channels, kernel, stride=1, padding=0, dilation=1, groups=1, bias=true,
//           weight_standardization=false}  (each filter standardised over its fan-in, eps 1e-5)
//   conv2d and dense also take spectral_norm=false, power_iterations=1 (PyTorch's
//   spectral_norm: the stored weight is weight_orig, with persistent weight_u, weight_v)
//   conv_transpose2d {out_channels, kernel, stride=1, padding=0, output_padding=0,
//                     dilation=1, groups=1, bias=true}
//   dense, conv2d and conv_transpose2d also take l1, l2 (numbers >= 0): the
//   layer's weight penalty, overriding --l1 / --l2 for its weights (and, with
//   --penalize-biases, its bias)
//   maxpool2d {kernel, stride=kernel, padding=0, dilation=1}
//   avgpool2d {kernel, stride=kernel, padding=0, count_include_pad=true}
//   global_avgpool2d                          [C, H, W] -> [C] (mean over H x W)
//   batchnorm2d, batchnorm1d {eps=1e-5, momentum=0.1, affine=true}
//   layernorm {eps=1e-5, elementwise_affine=true}   over each sample's [C, H, W]
//   instancenorm2d {eps=1e-5, affine=false}
//   groupnorm {num_groups, eps=1e-5, affine=true}
//   relu, tanh, sigmoid, selu, gelu (erf), leaky_relu {negative_slope=0.01},
//   elu {alpha=1}, softplus {beta=1, threshold=20}
//   add                                        two or more inputs of one shape
//   concat                                     two or more inputs, one H x W; channels add up
// The last layer's output must be flat with exactly K features.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fovea::nn {

// One sample's tensor shape [C, H, W]; a flat vector of F values is [F, 1, 1].
struct Shape {
  uint32_t c = 1, h = 1, w = 1;
  uint64_t size() const { return uint64_t(c) * h * w; }
  bool flat() const { return h == 1 && w == 1; }
  bool operator==(const Shape&) const = default;
  std::string str() const;  // "[32, 28, 28]" or "[784]" when flat
};

enum class LayerType {
  Flatten, Reshape, Dense, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Add, Concat,
  BatchNorm2d, BatchNorm1d, LayerNorm, InstanceNorm2d, GroupNorm,
  Relu, LeakyRelu, Elu, Selu, Gelu, Tanh, Sigmoid, Softplus,
};
bool is_activation(LayerType t);

struct LayerSpec {
  LayerType type = LayerType::Flatten;
  std::string name;             // unique; "layers.<i>" unless the file names it
  std::vector<int32_t> inputs;  // indices of earlier layers; -1 is the model input
  Shape out;                    // output shape per sample
  // dense
  uint32_t units = 0;
  bool bias = true;  // dense, conv2d
  // conv2d
  uint32_t out_channels = 0, groups = 1;
  uint32_t kernel[2] = {1, 1}, stride[2] = {1, 1}, padding[2] = {0, 0}, dilation[2] = {1, 1};
  uint32_t output_padding[2] = {0, 0};  // conv_transpose2d
  bool weight_standardization = false;  // conv2d
  bool spectral_norm = false;           // conv2d, dense
  uint32_t power_iterations = 1;
  std::optional<double> l1, l2;         // dense, conv2d, conv_transpose2d: penalty overrides
  bool count_include_pad = true;  // avgpool2d
  // normalisation
  float eps = 1e-5f, momentum = 0.1f;
  bool affine = true;
  uint32_t num_groups = 1;
  // activations
  float negative_slope = 0.01f, alpha = 1.0f, beta = 1.0f, threshold = 20.0f;
};

struct ModelSpec {
  std::string path;  // the file it came from, for messages
  std::string json;  // the spec itself, canonical (sorted keys, no spaces): saved with the weights
  uint32_t channels = 0, height = 0, width = 0;
  uint32_t classes = 0;
  std::vector<LayerSpec> layers;
  uint32_t input_features() const { return channels * height * width; }
  Shape input() const { return {channels, height, width}; }
  // The shape of node i's input j (the model input for index -1).
  Shape shape_of(int32_t node) const { return node < 0 ? input() : layers[size_t(node)].out; }
};

// Rules: C, H, W in 1..4096 and C*H*W <= 2^26; K in 2..16384 (the loss
// kernel's loop budget); unknown or repeated keys anywhere are errors.
// Throws fovea::Error like
//   "model assets/models/x.json: layers[2] (dense): 'units' must be a positive integer, got -3".
ModelSpec parse_model_spec_text(const std::string& text, const std::string& path);
ModelSpec load_model_spec(const std::string& path);

const char* layer_type_name(LayerType t);

// The prefix of layer `index`'s tensors in the weights file: like
// torch.nn.Sequential's state_dict for unnamed layers ("3" of "3.weight"),
// the layer's own name otherwise.
std::string tensor_prefix(const LayerSpec& l, size_t index);

}  // namespace fovea::nn
