// Model spec parsing. The rules live in model_spec.h; this file checks each
// one in order and stops at the first violation with a message of the form
//   model <path>: [layers[i] (<type>): ]<field and what was wrong>
// so a user can fix the file without reading our source.
#include "nn/model_spec.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "nn/loss_spec.h"
#include "nn/spec_reader.h"
#include "util/error.h"

namespace fovea::nn {
namespace {

using json = nlohmann::json;
using namespace spec_reader;

constexpr int64_t kMaxSide = 4096;
constexpr uint64_t kMaxInputFeatures = uint64_t(1) << 26;
constexpr int64_t kMinClasses = 2, kMaxClasses = 16384;  // = ops::kMaxClasses (the loss kernel's loop budget)
constexpr int64_t kMaxUnits = 65536;
constexpr int64_t kMaxChannels = 65535;

// floor((in + 2 pad - dil (k - 1) - 1) / stride) + 1, or 0 when it does not fit.
uint32_t conv_out(uint32_t in, uint32_t k, uint32_t stride, uint32_t pad, uint32_t dil) {
  const int64_t span = int64_t(in) + 2 * int64_t(pad) - int64_t(dil) * (int64_t(k) - 1) - 1;
  return span < 0 ? 0 : uint32_t(span / stride + 1);
}

// Resolves "inputs" (or the default) to node indices; -1 is the model input.
std::vector<int32_t> read_inputs(const json& L, const LayerReader& r, const std::vector<LayerSpec>& done) {
  const auto it = L.find("inputs");
  if (it == L.end()) return {int32_t(done.size()) - 1};
  if (!it->is_array() || it->empty())
    r.error("'inputs' must be a non-empty list of layer names, got " + show(*it));
  std::vector<int32_t> out;
  for (const json& n : *it) {
    if (!n.is_string()) r.error("'inputs' must hold layer names (strings), got " + show(n));
    const std::string name = n.get<std::string>();
    if (name == "input") {
      out.push_back(-1);
      continue;
    }
    int32_t found = -2;
    for (size_t j = 0; j < done.size(); ++j)
      if (done[j].name == name) found = int32_t(j);
    if (found == -2)
      r.error("'inputs' names '" + name + "', which is not an earlier layer (or \"input\")");
    out.push_back(found);
  }
  return out;
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

// Fills the type-specific fields of `layer` and its output shape.
void read_layer(const LayerReader& r, const json& L, LayerSpec& layer, const ModelSpec& spec) {
  const Shape in = spec.shape_of(layer.inputs[0]);
  const bool multi = layer.type == LayerType::Add || layer.type == LayerType::Concat;
  if (multi && layer.inputs.size() < 2) r.error("needs two or more 'inputs'");
  if (!multi && layer.inputs.size() != 1)
    r.error("takes exactly one input, got " + std::to_string(layer.inputs.size()));
  layer.out = in;
  switch (layer.type) {
    case LayerType::Flatten:
      layer.out = {uint32_t(in.size()), 1, 1};
      break;
    case LayerType::Reshape: {
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
      break;
    }
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
    case LayerType::Conv2d: {
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
      break;
    }
    case LayerType::ConvTranspose2d: {
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
      break;
    }
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
    case LayerType::Dropout:
    case LayerType::Dropout2d:
    case LayerType::GaussianDropout:
    case LayerType::AlphaDropout:
      layer.p = r.probability("p", 0.5f);
      break;
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
      break;  // the other activations: no fields, shape unchanged
  }
}


// An entry's type and known fields; appends " (<type>)" to `where`. Aux
// head layers take no "name" or "inputs".
LayerSpec read_entry(const json& L, const std::string& path, std::string& where, bool aux) {
  if (!L.is_object()) fail(path, where, "must be an object such as {\"type\": \"relu\"}, got " + show(L));
  const auto t = L.find("type");
  if (t == L.end()) fail(path, where, "missing 'type' (one of " + type_list() + ")");
  const std::string tname = t->is_string() ? t->get<std::string>() : std::string();
  if (aux && tname == "aux_head") fail(path, where, "an aux head cannot hold another aux_head");
  const TypeInfo* info = nullptr;
  for (const auto& ti : types())
    if (tname == ti.name) info = &ti;
  if (!info) fail(path, where, "'type' must be one of " + type_list() + ", got " + show(*t));
  LayerSpec layer;
  layer.type = info->type;
  where += std::string(" (") + info->name + ")";
  for (const auto& [key, value] : L.items()) {
    bool known = key == "type" || (!aux && (key == "name" || key == "inputs"));
    for (const char* f : info->fields) known |= key == f;
    if (!known) {
      std::string takes;
      for (const char* f : info->fields) takes += std::string(", ") + f;
      fail(path, where, "unknown field '" + key + "' (a " + info->name + " layer" + (aux ? " in an aux head" : "") +
                            " takes type" + (aux ? "" : ", name, inputs") + takes + ")");
    }
  }
  return layer;
}

std::string read_name(const LayerReader& r, const json& L, size_t i) {
  const auto n = L.find("name");
  if (n == L.end()) return "layers." + std::to_string(i);
  if (!n->is_string() || n->get<std::string>().empty() || n->get<std::string>() == "input")
    r.error("'name' must be a non-empty string other than \"input\", got " + show(*n));
  return n->get<std::string>();
}

void check_unique(const ModelSpec& spec, const std::string& name, const LayerReader& r) {
  for (const auto& other : spec.layers)
    if (other.name == name) r.error("'name' '" + name + "' is used by an earlier layer");
  for (const auto& other : spec.aux)
    if (other.name == name) r.error("'name' '" + name + "' is used by an earlier aux_head");
}

// {"type": "aux_head", "from": NAME, "weight": w, "layers": [...]} at file
// position i: its layers are parsed as a chain appended to a copy of the
// main layers read so far (so every rule and shape applies), then moved out.
void read_aux_head(const json& L, const std::string& where, size_t i, ModelSpec& spec) {
  LayerReader r(L, spec.path, where);
  for (const auto& [key, value] : L.items())
    if (key != "type" && key != "name" && key != "from" && key != "weight" && key != "layers")
      r.error("unknown field '" + key + "' (an aux_head takes type, name, from, weight, layers)");
  if (spec.loss.kind != LossKind::CrossEntropy)
    r.error(std::string("an aux head adds a cross-entropy, but the model's loss is ") + loss_name(spec.loss.kind));
  AuxHead head;
  head.name = read_name(r, L, i);
  check_unique(spec, head.name, r);
  const std::string prefix = head.name == "layers." + std::to_string(i) ? std::to_string(i) : head.name;
  const auto from = L.find("from");
  if (from == L.end() || !from->is_string()) r.error("'from' must name an earlier layer, got " + (from == L.end() ? std::string("nothing") : show(*from)));
  head.from = -1;
  for (size_t j = 0; j < spec.layers.size(); ++j)
    if (spec.layers[j].name == from->get<std::string>()) head.from = int32_t(j);
  if (head.from < 0) r.error("'from' names '" + from->get<std::string>() + "', which is not an earlier layer");
  const auto w = L.find("weight");
  if (w == L.end() || !w->is_number() || !(w->get<double>() > 0 && w->get<double>() <= 100))
    r.error("'weight' must be a number in (0, 100], got " + (w == L.end() ? std::string("nothing") : show(*w)));
  head.weight = w->get<double>();
  const auto list = L.find("layers");
  if (list == L.end() || !list->is_array() || list->empty())
    r.error("'layers' must be a non-empty array of layer objects");
  ModelSpec chain = spec;
  for (size_t j = 0; j < list->size(); ++j) {
    std::string at = where + ": layers[" + std::to_string(j) + "]";
    LayerSpec layer = read_entry((*list)[j], spec.path, at, true);
    layer.name = head.name + "." + std::to_string(j);
    layer.prefix = prefix + "." + std::to_string(j);
    layer.inputs = {j == 0 ? head.from : int32_t(chain.layers.size()) - 1};
    read_layer(LayerReader((*list)[j], spec.path, at), (*list)[j], layer, chain);
    chain.layers.push_back(layer);
    head.layers.push_back(layer);
  }
  const Shape out = head.layers.back().out;
  if (!(out.flat() || (out.c == 1 && out.h == 1)) || out.size() != spec.classes)
    r.error("its last layer outputs " + out.str() + " but must output 'classes' = " + std::to_string(spec.classes) +
            " features (end with a dense layer)");
  spec.aux.push_back(std::move(head));
}

// An aux head's source must also feed the main graph (its gradient then has
// a main path in every program) and cannot be the logits themselves.
void check_aux_sources(const ModelSpec& spec) {
  for (const AuxHead& h : spec.aux) {
    bool read = false;
    for (const LayerSpec& l : spec.layers)
      for (int32_t i : l.inputs) read |= i == h.from;
    const std::string& from = spec.layers[size_t(h.from)].name;
    if (size_t(h.from) + 1 == spec.layers.size())
      fail(spec.path, "aux_head '" + h.name + "'", "'from' names the last layer '" + from + "' (the logits)");
    if (!read) fail(spec.path, "aux_head '" + h.name + "'", "'from' names '" + from + "', which no later layer reads");
  }
}

}  // namespace

std::string Shape::str() const {
  std::string s = "[";  // built with += (GCC 12 warns falsely on "[" + std::to_string)
  if (flat()) {
    s += std::to_string(c);
  } else {
    s += std::to_string(c) + ", " + std::to_string(h) + ", " + std::to_string(w);
  }
  return s + "]";
}

bool is_activation(LayerType t) {
  switch (t) {
    case LayerType::Relu: case LayerType::LeakyRelu: case LayerType::Elu: case LayerType::Selu:
    case LayerType::Gelu: case LayerType::Tanh: case LayerType::Sigmoid: case LayerType::Softplus:
      return true;
    default:
      return false;
  }
}

const char* layer_type_name(LayerType t) {
  for (const auto& info : types())
    if (info.type == t) return info.name;
  return "unknown";
}

std::string tensor_prefix(const LayerSpec& l, size_t index) {
  if (!l.prefix.empty()) return l.prefix;
  return l.name == "layers." + std::to_string(index) ? std::to_string(index) : l.name;
}

ModelSpec parse_model_spec_text(const std::string& text, const std::string& path) {
  const json root = parse_json(text, path);
  if (!root.is_object()) {
    fail(path, "", "the top level must be an object with 'input', 'classes' and 'layers', got " +
                       show(root));
  }
  // Unknown keys first: a misspelt "clases" should be reported as such, not
  // as a missing "classes".
  for (const auto& [key, value] : root.items()) {
    if (key != "input" && key != "classes" && key != "layers" && key != "loss") {
      fail(path, "", "unknown key '" + key + "' (expected input, classes, layers, loss)");
    }
  }

  ModelSpec spec;
  spec.path = path;
  spec.json = root.dump();

  // "input": [C, H, W]
  const auto in = root.find("input");
  if (in == root.end()) fail(path, "", "missing 'input' (the image shape [C, H, W])");
  if (!in->is_array() || in->size() != 3) {
    fail(path, "", "'input' must be an array [C, H, W] of 3 integers, got " + show(*in));
  }
  uint32_t chw[3];
  static const char* const kAxis[3] = {"C", "H", "W"};
  for (size_t a = 0; a < 3; ++a) {
    const auto v = as_int((*in)[a]);
    if (!v || *v < 1 || *v > kMaxSide) {
      fail(path, "", std::string("'input' ") + kAxis[a] + " (input[" + std::to_string(a) +
                         "]) must be an integer in 1.." + std::to_string(kMaxSide) + ", got " +
                         show((*in)[a]));
    }
    chw[a] = uint32_t(*v);
  }
  if (uint64_t(chw[0]) * chw[1] * chw[2] > kMaxInputFeatures) {
    fail(path, "", "'input' " + show(*in) + " has " +
                       std::to_string(uint64_t(chw[0]) * chw[1] * chw[2]) +
                       " features, more than the limit of " + std::to_string(kMaxInputFeatures));
  }
  spec.channels = chw[0];
  spec.height = chw[1];
  spec.width = chw[2];

  // "classes": K
  const auto cls = root.find("classes");
  if (cls == root.end()) fail(path, "", "missing 'classes' (the number of output classes)");
  const auto k = as_int(*cls);
  if (!k || *k < kMinClasses || *k > kMaxClasses) {
    fail(path, "", "'classes' must be an integer in " + std::to_string(kMinClasses) + ".." +
                       std::to_string(kMaxClasses) + ", got " + show(*cls));
  }
  spec.classes = uint32_t(*k);
  if (const auto loss = root.find("loss"); loss != root.end()) spec.loss = parse_loss_spec(*loss, path);

  // "layers": [...]
  const auto layers = root.find("layers");
  if (layers == root.end()) fail(path, "", "missing 'layers' (the list of layers)");
  if (!layers->is_array() || layers->empty()) {
    fail(path, "", "'layers' must be a non-empty array of layer objects, got " + show(*layers));
  }

  std::string where;
  for (size_t i = 0; i < layers->size(); ++i) {
    const json& L = (*layers)[i];
    where = "layers[" + std::to_string(i) + "]";
    if (L.is_object() && L.contains("type") && L["type"] == "aux_head") {
      read_aux_head(L, where + " (aux_head)", i, spec);
      continue;
    }
    LayerSpec layer = read_entry(L, path, where, false);
    LayerReader r(L, path, where);
    layer.name = read_name(r, L, i);
    layer.prefix = layer.name == "layers." + std::to_string(i) ? std::to_string(i) : layer.name;
    layer.position = uint32_t(i);
    check_unique(spec, layer.name, r);
    layer.inputs = read_inputs(L, r, spec.layers);
    read_layer(r, L, layer, spec);
    spec.layers.push_back(layer);
  }
  if (spec.layers.empty()) fail(path, "", "'layers' holds only aux_head entries; the main graph needs layers");
  for (size_t i = layers->size(); i-- > 0;)  // `where` names the last main layer, for the messages below
    if ((*layers)[i]["type"] != "aux_head") {
      where = "layers[" + std::to_string(i) + "] (" + layer_type_name(spec.layers.back().type) + ")";
      break;
    }
  check_aux_sources(spec);

  // Stochastic depth's linear decay: the l-th of the L add layers that set
  // it (1-based, in spec order) drops with p l / L.
  uint32_t depth_layers = 0, depth = 0;
  for (const LayerSpec& l : spec.layers) depth_layers += l.stochastic_depth.has_value();
  for (LayerSpec& l : spec.layers) {
    if (!l.stochastic_depth) continue;
    ++depth;
    l.stochastic_depth_p = l.stochastic_depth_linear ? float(double(*l.stochastic_depth) * depth / depth_layers)
                                                     : *l.stochastic_depth;
  }

  const Shape out = spec.layers.back().out;
  if (!out.flat() && !(out.c == 1 && out.h == 1)) {
    fail(path, where, "the last layer's output has shape " + out.str() +
                          " but must be flat with 'classes' = " + std::to_string(spec.classes) +
                          " features; end with a dense layer of " +
                          std::to_string(spec.classes) + " units");
  }
  if (out.size() != spec.classes) {
    fail(path, where, "the last layer outputs " + std::to_string(out.size()) +
                          " features but 'classes' is " + std::to_string(spec.classes));
  }
  return spec;
}

ModelSpec load_model_spec(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "", "is a directory, expected a file");
  errno = 0;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    fail(path, "", std::string("cannot open file (") +
                       (errno ? std::strerror(errno) : "unknown reason") + ")");
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail(path, "", "read error");
  return parse_model_spec_text(ss.str(), path);
}

}  // namespace fovea::nn
