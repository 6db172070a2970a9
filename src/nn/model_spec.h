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
//   dense and conv2d also take drop_connect=0 (DropConnect, Wan et al. 2013): in
//   training the weight (after weight_standardization or spectral_norm) is masked
//   elementwise with keep probability 1 - p and scaled by 1 / (1 - p), one fresh
//   mask per step shared by the whole batch; the bias is untouched and the weight
//   gradient is masked the same way; evaluation uses the whole weight
//   dense, conv2d and conv_transpose2d also take l1, l2 (numbers >= 0): the
//   layer's weight penalty, overriding --l1 / --l2 for its weights (and, with
//   --penalize-biases, its bias)
//   maxpool2d {kernel, stride=kernel, padding=0, dilation=1}
//   avgpool2d {kernel, stride=kernel, padding=0, count_include_pad=true}
//   global_avgpool2d                          [C, H, W] -> [C] (mean over H x W)
// Random layers draw from Philox keyed by (seed, step, layer index, element; its
// index in the global batch under mpirun)
// and regenerate their masks in backward; in evaluation each is the
// deterministic form named here:
//   maxpool_dropout {kernel, stride=kernel, padding=0, p=0.5}  (Wu & Gu, "Towards
//       dropout training for convolutional neural networks"): in training each
//       input unit is dropped (set to 0) with probability p, then max pooling; no
//       scaling. Evaluation: plain max pooling.
//   avgpool_dropout {kernel, stride=kernel, padding=0, count_include_pad=true, p=0.5}:
//       the same mask, then average pooling scaled by 1/(1-p) (expectation: plain
//       average pooling). Evaluation: plain average pooling. For both, p in [0, 1).
//   max_drop {p=0.5, mode="map"}  (Park & Kwak, "Analysis on the dropout effect in
//       convolutional neural networks"): in training the units equal to the maximum
//       of their feature map [n, c] ("map") or of their position [n, h, w] across
//       channels ("channel") are each set to 0 with probability p, p in [0, 1]; no
//       scaling. Evaluation: identity.
//   fractional_maxpool2d {output_ratio | output_size, pseudo_random=false, overlapping=false}
//       (Graham, "Fractional max-pooling"): output_ratio (a number or [h, w]) gives
//       floor(side * ratio) like PyTorch, output_size (an integer or [h, w]) the sizes
//       directly; side / output must lie in (1, 2]. Per sample and channel and step,
//       region boundaries with increments of 1 and 2: a random arrangement, or with
//       pseudo_random a_i = ceil(alpha (i + u)) - ceil(alpha u); regions [a_(i-1), a_i)
//       or, overlapping, [a_(i-1), a_i]. Evaluation: the pseudo-random regions at u = 1/2.
//   batchnorm2d, batchnorm1d {eps=1e-5, momentum=0.1, affine=true}   batch statistics
//     (each rank's shard's under mpirun; the global batch's with --sync-bn)
//   layernorm {eps=1e-5, elementwise_affine=true}   over each sample's [C, H, W]
//   instancenorm2d {eps=1e-5, affine=false}
//   groupnorm {num_groups, eps=1e-5, affine=true}
//   relu, tanh, sigmoid, selu, gelu (erf), leaky_relu {negative_slope=0.01},
//   elu {alpha=1}, softplus {beta=1, threshold=20}
//   add {stochastic_depth=0, stochastic_depth_decay="linear"}
//                                              two or more inputs of one shape; with
//     stochastic_depth p (Huang et al. 2016, torchvision's "row" mode) each sample's
//     residual branch, the LAST input, is kept with probability 1 - p_l and scaled
//     by 1 / (1 - p_l) in training (the other inputs pass as they are); the l-th of
//     the L add layers that set stochastic_depth uses p_l = p l / L ("linear") or
//     p_l = p ("none"); evaluation adds plainly
//   concat                                     two or more inputs, one H x W; channels add up
//   channel_shuffle {groups}                   ShuffleNet's (torch.nn.ChannelShuffle): groups
//                                              divides C; y[i g + j] = x[j (C / g) + i]
//   squeeze_excitation {reduction=16}          Hu et al.: s = sigmoid(fc2(relu(fc1(mean over
//     H x W)))), y = x s per channel; fc1 C -> S = max(1, C / reduction), fc2 S -> C,
//     both with bias, stored like torchvision's SqueezeExcitation (1x1 convolutions):
//     <prefix>.fc1.weight [S, C, 1, 1], fc1.bias [S], fc2.weight [C, S, 1, 1], fc2.bias [C]
//   aux_head {from, weight, layers}            an auxiliary classifier: not a node of the
//     main graph (the next layer's default input is the layer before it). Its "layers"
//     (a chain: each takes the previous, the first takes "from", the name of an earlier
//     layer that a later layer also reads; no "name", "inputs" or nested aux_head) must
//     end flat with K features. In training weight x its cross-entropy (with the
//     model's label smoothing, class weights and mixing) is added to the loss (and to
//     the reported train loss); evaluation, prediction, the sharpness probe and export
//     ignore it. Its tensors are <prefix>.<j>.<suffix> (prefix: the aux_head entry's).
//     Needs the cross_entropy loss; weight in (0, 100].
// Random layers (training only; in evaluation each is the identity), p in [0, 1),
// p = 0 the identity; masks are Philox-4x32 draws keyed by the run's seed, the
// step, the layer's index and the element, regenerated in backward:
//   dropout {p=0.5}            y = x m / (1 - p), m ~ Bernoulli(1 - p) per value
//   dropout2d {p=0.5}          the same per channel of each sample: a [C, H, W]
//                              input loses whole H x W planes; a flat input [F] is
//                              F channels of one value, so it drops single features
//   gaussian_dropout {p=0.5}   y = x m, m ~ N(1, p / (1 - p)) per value
//   alpha_dropout {p=0.5}      PyTorch's AlphaDropout (for SELU networks): dropped
//                              values become alpha' = -1.7581 (SELU's -scale alpha),
//                              then y = a x' + b, a = ((1 - p)(1 + p alpha'^2))^(-1/2),
//                              b = -a alpha' p, keeping mean 0 and variance 1
// The last layer's output must be flat with exactly K features.
// Optional top-level "loss" (default: cross_entropy without smoothing):
//   {"type": "cross_entropy", "label_smoothing": 0}  PyTorch's CrossEntropyLoss(label_smoothing=),
//                                                    label_smoothing in [0, 1)
//   {"type": "mse"}               MSELoss of the K outputs against the one-hot label
//   {"type": "bce_with_logits"}   BCEWithLogitsLoss of the K logits against the one-hot label
// Each with mean reduction; accuracy is argmax agreement whatever the loss.
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
  MaxPoolDropout, AvgPoolDropout, MaxDrop, FractionalMaxPool2d,
  ChannelShuffle, SqueezeExcitation,
  BatchNorm2d, BatchNorm1d, LayerNorm, InstanceNorm2d, GroupNorm,
  Dropout, Dropout2d, GaussianDropout, AlphaDropout,
  Relu, LeakyRelu, Elu, Selu, Gelu, Tanh, Sigmoid, Softplus,
};
bool is_activation(LayerType t);

struct LayerSpec {
  LayerType type = LayerType::Flatten;
  std::string name;             // unique; "layers.<i>" unless the file names it
  std::string prefix;           // its tensors' prefix (tensor_prefix)
  uint32_t position = 0;        // its index in the file's "layers" (main layers; aux_head entries count too)
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
  bool count_include_pad = true;  // avgpool2d, avgpool_dropout
  // dropout family, maxpool_dropout, avgpool_dropout, max_drop: the drop probability p
  float p = 0.5f;
  bool max_drop_channel = false;  // max_drop "mode": "channel"
  bool pseudo_random = false, overlapping = false;  // fractional_maxpool2d (its output size is `out`)
  float drop_connect = 0;  // dense, conv2d: DropConnect's p on the weight
  // add: stochastic depth as written, whether it decays linearly over the
  // add layers that set it, and the resulting p_l of this layer
  std::optional<float> stochastic_depth;
  bool stochastic_depth_linear = true;
  float stochastic_depth_p = 0;
  uint32_t reduction = 16, squeeze = 1;  // squeeze_excitation: squeeze = max(1, C / reduction)
  // normalisation
  float eps = 1e-5f, momentum = 0.1f;
  bool affine = true;
  uint32_t num_groups = 1;
  // activations
  float negative_slope = 0.01f, alpha = 1.0f, beta = 1.0f, threshold = 20.0f;
};

enum class LossKind { CrossEntropy, Mse, BceWithLogits };
struct LossSpec {
  LossKind kind = LossKind::CrossEntropy;
  double label_smoothing = 0;  // cross_entropy only (the kernel takes it as a float)
};
const char* loss_name(LossKind k);  // "cross_entropy", "mse", "bce_with_logits"
// {"label_smoothing":0.1,"type":"cross_entropy"}: ONNX metadata and messages.
std::string loss_json(const LossSpec& loss);

// An auxiliary head (aux_head): a chain of layers from a main layer's output
// to K logits whose weighted cross-entropy joins the training loss.
struct AuxHead {
  std::string name;     // "layers.<i>" unless named
  int32_t from = 0;     // the main layer it reads
  double weight = 0;
  std::vector<LayerSpec> layers;  // each reads the previous; the first reads `from`
};

struct ModelSpec {
  std::string path;  // the file it came from, for messages
  std::string json;  // the spec itself, canonical (sorted keys, no spaces): saved with the weights
  uint32_t channels = 0, height = 0, width = 0;
  uint32_t classes = 0;
  std::vector<LayerSpec> layers;  // the main graph (aux_head entries left out)
  std::vector<AuxHead> aux;       // the aux_head entries, in file order
  LossSpec loss;
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
// The spec with its loss set to cross_entropy with this label smoothing
// (--label-smoothing): the canonical JSON gains the "loss" object, so the
// weights, eval and the sharpness probe see the same loss. An error for a
// model whose loss is mse or bce_with_logits.
ModelSpec with_label_smoothing(const ModelSpec& spec, double smoothing);

const char* layer_type_name(LayerType t);

// The prefix of layer `index`'s tensors in the weights file: like
// torch.nn.Sequential's state_dict for unnamed layers ("3" of "3.weight",
// 3 the position in the file's list), the layer's own name otherwise; an
// aux head's layer j: "<the head's prefix>.<j>".
std::string tensor_prefix(const LayerSpec& l, size_t index);

}  // namespace fovea::nn
