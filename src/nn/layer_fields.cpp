// The type-specific fields of a model spec's layers (nn/model_spec.h), each
// family in its own function; model_spec.cpp reads the common fields and
// calls them. Messages follow model_spec.cpp's form.
#include "nn/layer_fields.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

namespace fovea::nn::layer_fields {
namespace {

using json = nlohmann::json;
using spec_reader::as_int;
using spec_reader::show;

// floor((in + 2 pad - dil (k - 1) - 1) / stride) + 1, or 0 when it does not fit.
uint32_t conv_out(uint32_t in, uint32_t k, uint32_t stride, uint32_t pad, uint32_t dil) {
  const int64_t span = int64_t(in) + 2 * int64_t(pad) - int64_t(dil) * (int64_t(k) - 1) - 1;
  return span < 0 ? 0 : uint32_t(span / stride + 1);
}

void read_spectral_fields(const LayerReader& r, LayerSpec& layer) {
  layer.spectral_norm = r.boolean("spectral_norm", false);
  layer.power_iterations = r.integer("power_iterations", 1, 100, 1, "");
  if (r.has("power_iterations") && !layer.spectral_norm)
    r.error("'power_iterations' needs \"spectral_norm\": true");
}

// The fields conv2d and conv_transpose2d share, and the groups rule.
void read_conv_fields(const LayerReader& r, LayerSpec& layer, const Shape& in) {
  layer.out_channels = r.integer("out_channels", 1, kMaxChannels, std::nullopt, "the number of filters");
  r.pair("kernel", 1, kMaxSide, std::nullopt, layer.kernel, "the filter size");
  r.pair("stride", 1, kMaxSide, 1, layer.stride, "");
  r.pair("padding", 0, kMaxSide, 0, layer.padding, "");
  if (layer.type == LayerType::ConvTranspose2d) r.pair("output_padding", 0, kMaxSide, 0, layer.output_padding, "");
  r.pair("dilation", 1, kMaxSide, 1, layer.dilation, "");
  layer.groups = r.integer("groups", 1, kMaxChannels, 1, "");
  layer.bias = r.boolean("bias", true);
  layer.l1 = r.coefficient("l1");
  layer.l2 = r.coefficient("l2");
  if (in.c % layer.groups || layer.out_channels % layer.groups)
    r.error("'groups' " + std::to_string(layer.groups) + " must divide the input channels (" +
            std::to_string(in.c) + ") and 'out_channels' (" + std::to_string(layer.out_channels) + ")");
}

// fractional_maxpool2d: exactly one of output_ratio and output_size, the
// output in `layer.out`, each side's ratio input / output in (1, 2].
void read_fractional_fields(const LayerReader& r, const json& L, LayerSpec& layer, const Shape& in) {
  const bool ratio = r.has("output_ratio"), size = r.has("output_size");
  if (ratio == size) r.error("needs exactly one of 'output_ratio' and 'output_size'");
  uint32_t out[2];
  if (size) {
    r.pair("output_size", 1, kMaxSide, std::nullopt, out, "");
  } else {
    const json& j = L["output_ratio"];
    const bool pair = j.is_array() && j.size() == 2;
    const uint32_t sides[2] = {in.h, in.w};
    for (int a = 0; a < 2; ++a) {
      const json& v = pair ? j[size_t(a)] : j;
      if (!v.is_number() || !(v.get<double>() >= 0.5 && v.get<double>() < 1))
        r.error("'output_ratio' must be a number in [0.5, 1) or a pair [h, w] of them, got " + show(j));
      out[a] = uint32_t(std::floor(double(sides[a]) * v.get<double>()));  // PyTorch: int(side * ratio)
    }
  }
  for (auto [side, o, axis] : {std::tuple{in.h, out[0], "height"}, std::tuple{in.w, out[1], "width"}})
    if (!(o >= 1 && o < side && side <= 2 * o))
      r.error(std::string("the output ") + axis + " " + std::to_string(o) + " from the input " + axis + " " +
              std::to_string(side) + " makes the ratio alpha = " + std::to_string(side) + "/" + std::to_string(o) +
              ", outside (1, 2]");
  layer.pseudo_random = r.boolean("pseudo_random", false);
  layer.overlapping = r.boolean("overlapping", false);
  layer.out = {in.c, out[0], out[1]};
}


// reshape: 'shape' holds as many values as its input.
void read_reshape(const LayerReader& r, const json& L, LayerSpec& layer, const Shape& in) {
  const auto it = L.find("shape");
  if (it == L.end() || !it->is_array() || it->empty() || it->size() > 3)
    r.error("'shape' must be [C, H, W], [C, H] or [C] of positive integers");
  uint32_t d[3] = {1, 1, 1};
  for (size_t a = 0; a < it->size(); ++a) {
    const auto v = as_int((*it)[a]);
    if (!v || *v < 1 || *v > (int64_t(1) << 26)) r.error("'shape' must hold positive integers, got " + show(*it));
    d[a] = uint32_t(*v);
  }
  layer.out = {d[0], d[1], d[2]};
  if (layer.out.size() != in.size())
    r.error("'shape' " + layer.out.str() + " holds " + std::to_string(layer.out.size()) +
            " values but its input " + in.str() + " holds " + std::to_string(in.size()));
}


void read_conv2d(const LayerReader& r, LayerSpec& layer, const Shape& in) {
  read_conv_fields(r, layer, in);
  layer.weight_standardization = r.boolean("weight_standardization", false);
  read_spectral_fields(r, layer);
  if (layer.weight_standardization && layer.spectral_norm)
    r.error("'weight_standardization' and 'spectral_norm' cannot be combined");
  layer.drop_connect = r.probability("drop_connect", 0);
  const uint32_t oh = conv_out(in.h, layer.kernel[0], layer.stride[0], layer.padding[0], layer.dilation[0]);
  const uint32_t ow = conv_out(in.w, layer.kernel[1], layer.stride[1], layer.padding[1], layer.dilation[1]);
  if (oh == 0 || ow == 0)
    r.error("the kernel does not fit its input " + in.str() + " with this padding and dilation");
  if (uint64_t(in.c) * layer.kernel[0] * layer.kernel[1] > uint64_t(kMaxChannels))
    r.error("input channels x kernel taps must be at most " + std::to_string(kMaxChannels));
  layer.out = {layer.out_channels, oh, ow};
}


void read_conv_transpose2d(const LayerReader& r, LayerSpec& layer, const Shape& in) {
  read_conv_fields(r, layer, in);
  for (int a = 0; a < 2; ++a)
    if (layer.output_padding[a] >= layer.stride[a] && layer.output_padding[a] >= layer.dilation[a])
      r.error("'output_padding' must be smaller than either 'stride' or 'dilation' (as in PyTorch)");
  int64_t o[2];
  const uint32_t insz[2] = {in.h, in.w};
  for (int a = 0; a < 2; ++a) {
    o[a] = (int64_t(insz[a]) - 1) * layer.stride[a] - 2 * int64_t(layer.padding[a]) +
           int64_t(layer.dilation[a]) * (layer.kernel[a] - 1) + layer.output_padding[a] + 1;
    if (o[a] < 1 || o[a] > kMaxSide) r.error("the output size would be " + std::to_string(o[a]) + ", outside 1.." + std::to_string(kMaxSide));
  }
  layer.out = {layer.out_channels, uint32_t(o[0]), uint32_t(o[1])};
}

}  // namespace

// flatten, reshape, dense, conv2d, conv_transpose2d.
void read_geometry(const LayerReader& r, const json& L, LayerSpec& layer, const Shape& in) {
  switch (layer.type) {
    case LayerType::Flatten:
      layer.out = {uint32_t(in.size()), 1, 1};
      break;
    case LayerType::Reshape:
      read_reshape(r, L, layer, in);
      break;
    case LayerType::Conv2d:
      read_conv2d(r, layer, in);
      break;
    case LayerType::ConvTranspose2d:
      read_conv_transpose2d(r, layer, in);
      break;
    case LayerType::Dense:
      layer.units = r.integer("units", 1, kMaxUnits, std::nullopt, "the number of output features");
      layer.bias = r.boolean("bias", true);
      layer.l1 = r.coefficient("l1");
      layer.l2 = r.coefficient("l2");
      read_spectral_fields(r, layer);
      layer.drop_connect = r.probability("drop_connect", 0);
      if (!in.flat() && !(in.c == 1 && in.h == 1))
        r.error("its input has shape " + in.str() +
                ", but a dense layer needs a flat input; put a {\"type\": \"flatten\"} layer before it");
      layer.out = {layer.units, 1, 1};
      break;
    default:
      break;
  }
}

// The pooling layers, max-drop and their dropout variants.
void read_pooling(const LayerReader& r, const json& L, LayerSpec& layer, const Shape& in) {
  switch (layer.type) {
    case LayerType::MaxPoolDropout:
    case LayerType::AvgPoolDropout:
      layer.p = r.number("p", 0, 1, 0.5f);
      if (layer.p >= 1) r.error("'p' must be below 1 (every input dropped), got " + show(L["p"]));
      [[fallthrough]];
    case LayerType::MaxPool2d:
    case LayerType::AvgPool2d: {
      r.pair("kernel", 1, kMaxSide, std::nullopt, layer.kernel, "the window size");
      if (r.has("stride")) {
        r.pair("stride", 1, kMaxSide, std::nullopt, layer.stride, "");
      } else {  // PyTorch's stride=None: the kernel size
        layer.stride[0] = layer.kernel[0];
        layer.stride[1] = layer.kernel[1];
      }
      r.pair("padding", 0, kMaxSide, 0, layer.padding, "");
      if (layer.type == LayerType::MaxPool2d) r.pair("dilation", 1, kMaxSide, 1, layer.dilation, "");
      layer.count_include_pad = r.boolean("count_include_pad", true);
      if (2 * layer.padding[0] > layer.kernel[0] || 2 * layer.padding[1] > layer.kernel[1])
        r.error("'padding' must be at most half the kernel (as in PyTorch)");
      if (uint64_t(layer.kernel[0]) * layer.kernel[1] > 3600)
        r.error("windows larger than 3600 values (60 x 60) exceed the GPU kernels' loop budget");
      const uint32_t oh = conv_out(in.h, layer.kernel[0], layer.stride[0], layer.padding[0], layer.dilation[0]);
      const uint32_t ow = conv_out(in.w, layer.kernel[1], layer.stride[1], layer.padding[1], layer.dilation[1]);
      if (oh == 0 || ow == 0) r.error("the window does not fit its input " + in.str());
      layer.out = {in.c, oh, ow};
      break;
    }
    case LayerType::GlobalAvgPool2d:
      layer.out = {in.c, 1, 1};
      break;
    case LayerType::MaxDrop:
      layer.p = r.number("p", 0, 1, 0.5f);
      if (const auto m = L.find("mode"); m != L.end()) {
        if (!m->is_string() || (*m != "map" && *m != "channel"))
          r.error("'mode' must be \"map\" or \"channel\", got " + show(*m));
        layer.max_drop_channel = *m == "channel";
      }
      break;
    case LayerType::FractionalMaxPool2d:
      read_fractional_fields(r, L, layer, in);
      break;
    default:
      break;
  }
}

// batchnorm2d/1d, layernorm, instancenorm2d, groupnorm.
void read_normalisation(const LayerReader& r, LayerSpec& layer, const Shape& in) {
  switch (layer.type) {
    case LayerType::BatchNorm2d:
    case LayerType::BatchNorm1d:
      layer.eps = r.number("eps", 1e-12, 1, 1e-5f);
      layer.momentum = r.number("momentum", 0, 1, 0.1f);
      layer.affine = r.boolean("affine", true);
      if (layer.type == LayerType::BatchNorm1d && !in.flat())
        r.error("batchnorm1d takes a flat input, got " + in.str() + " (use batchnorm2d)");
      break;
    case LayerType::LayerNorm:
      layer.eps = r.number("eps", 1e-12, 1, 1e-5f);
      layer.affine = r.boolean("elementwise_affine", true);
      break;
    case LayerType::InstanceNorm2d:
      layer.eps = r.number("eps", 1e-12, 1, 1e-5f);
      layer.affine = r.boolean("affine", false);
      if (in.h * in.w < 2) r.error("instance normalisation needs more than one value per channel, got " + in.str());
      break;
    case LayerType::GroupNorm:
      layer.num_groups = r.integer("num_groups", 1, kMaxChannels, std::nullopt, "how many channel groups");
      layer.eps = r.number("eps", 1e-12, 1, 1e-5f);
      layer.affine = r.boolean("affine", true);
      if (in.c % layer.num_groups)
        r.error("'num_groups' " + std::to_string(layer.num_groups) + " must divide the channels (" +
                std::to_string(in.c) + ")");
      break;
    default:
      break;
  }
}

// add and concat: their inputs' shapes against the first one (`in`).
void read_merge(const LayerReader& r, const json& L, LayerSpec& layer, const ModelSpec& spec, const Shape& in) {
  switch (layer.type) {
    case LayerType::Add: {
      for (int32_t i : layer.inputs)
        if (!(spec.shape_of(i) == in))
          r.error("adds inputs of different shapes, " + in.str() + " and " + spec.shape_of(i).str());
      if (r.has("stochastic_depth")) layer.stochastic_depth = r.probability("stochastic_depth", 0);
      const auto decay = L.find("stochastic_depth_decay");
      if (decay != L.end()) {
        if (!layer.stochastic_depth) r.error("'stochastic_depth_decay' needs 'stochastic_depth'");
        if (!decay->is_string() || (*decay != "linear" && *decay != "none"))
          r.error("'stochastic_depth_decay' must be \"linear\" or \"none\", got " + show(*decay));
        layer.stochastic_depth_linear = *decay == "linear";
      }
      break;
    }
    case LayerType::Concat: {
      uint64_t c = 0;
      for (int32_t i : layer.inputs) {
        const Shape s = spec.shape_of(i);
        if (s.h != in.h || s.w != in.w)
          r.error("concatenates channels of inputs with different planes, " + in.str() + " and " + s.str());
        c += s.c;
      }
      if (c > uint64_t(kMaxChannels)) r.error("concatenates more than " + std::to_string(kMaxChannels) + " channels");
      layer.out = {uint32_t(c), in.h, in.w};
      break;
    }
    default:
      break;
  }
}

// dropout variants, channel_shuffle, squeeze_excitation and the
// activations' parameters.
void read_other(const LayerReader& r, LayerSpec& layer, const Shape& in) {
  switch (layer.type) {
    case LayerType::Dropout:
    case LayerType::Dropout2d:
    case LayerType::GaussianDropout:
    case LayerType::AlphaDropout:
      layer.p = r.probability("p", 0.5f);
      break;
    case LayerType::ChannelShuffle:
      layer.groups = r.integer("groups", 1, kMaxChannels, std::nullopt, "how many channel groups");
      if (in.c % layer.groups)
        r.error("'groups' " + std::to_string(layer.groups) + " must divide the channels (" + std::to_string(in.c) + ")");
      break;
    case LayerType::SqueezeExcitation:
      layer.reduction = r.integer("reduction", 1, kMaxChannels, 16, "");
      layer.squeeze = std::max<uint32_t>(1, in.c / layer.reduction);
      if (in.flat()) r.error("squeeze_excitation gates the channels of a [C, H, W] input, got " + in.str());
      break;
    case LayerType::LeakyRelu:
      layer.negative_slope = r.number("negative_slope", -1e6, 1e6, 0.01f);
      break;
    case LayerType::Elu:
      layer.alpha = r.number("alpha", -1e6, 1e6, 1.0f);
      break;
    case LayerType::Softplus:
      layer.beta = r.number("beta", 1e-6, 1e6, 1.0f);
      layer.threshold = r.number("threshold", 0, 1e6, 20.0f);
      break;
    default:
      break;
  }
}

}  // namespace fovea::nn::layer_fields
