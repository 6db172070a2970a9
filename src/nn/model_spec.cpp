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

#include "nn/layer_fields.h"
#include "nn/loss_spec.h"
#include "nn/spec_reader.h"
#include "util/error.h"

namespace fovea::nn {
namespace {

using json = nlohmann::json;
using namespace spec_reader;

using layer_fields::kMaxSide;
constexpr uint64_t kMaxInputFeatures = uint64_t(1) << 26;
constexpr int64_t kMinClasses = 2, kMaxClasses = 16384;  // = ops::kMaxClasses (the loss kernel's loop budget)

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

// Fills the type-specific fields of `layer` and its output shape.
void read_layer(const LayerReader& r, const json& L, LayerSpec& layer, const ModelSpec& spec) {
  const Shape in = spec.shape_of(layer.inputs[0]);
  const bool multi = layer.type == LayerType::Add || layer.type == LayerType::Concat;
  if (multi && layer.inputs.size() < 2) r.error("needs two or more 'inputs'");
  if (!multi && layer.inputs.size() != 1)
    r.error("takes exactly one input, got " + std::to_string(layer.inputs.size()));
  layer.out = in;
  layer_fields::read_geometry(r, L, layer, in);
  layer_fields::read_pooling(r, L, layer, in);
  layer_fields::read_normalisation(r, layer, in);
  layer_fields::read_merge(r, L, layer, spec, in);
  layer_fields::read_other(r, layer, in);
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

namespace {

// "input": [C, H, W], each side in 1..kMaxSide, their product bounded.
void read_input_shape(const json& root, const std::string& path, ModelSpec& spec) {
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
}

// "classes": K.
void read_classes(const json& root, const std::string& path, ModelSpec& spec) {
  const auto cls = root.find("classes");
  if (cls == root.end()) fail(path, "", "missing 'classes' (the number of output classes)");
  const auto k = as_int(*cls);
  if (!k || *k < kMinClasses || *k > kMaxClasses) {
    fail(path, "", "'classes' must be an integer in " + std::to_string(kMinClasses) + ".." +
                       std::to_string(kMaxClasses) + ", got " + show(*cls));
  }
  spec.classes = uint32_t(*k);
}

// "layers": the main graph's entries and the aux heads; returns the last
// main layer's place ("layers[i] (type)") for the messages that follow.
std::string read_layers(const json& layers, const std::string& path, ModelSpec& spec) {
  std::string where;
  for (size_t i = 0; i < layers.size(); ++i) {
    const json& L = layers[i];
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
  for (size_t i = layers.size(); i-- > 0;)  // `where` names the last main layer, for the messages below
    if (layers[i]["type"] != "aux_head") {
      where = "layers[" + std::to_string(i) + "] (" + layer_type_name(spec.layers.back().type) + ")";
      break;
    }
  return where;
}

// Stochastic depth's linear decay: the l-th of the L add layers that set
// it (1-based, in spec order) drops with p l / L.
void apply_depth_decay(ModelSpec& spec) {
  uint32_t depth_layers = 0, depth = 0;
  for (const LayerSpec& l : spec.layers) depth_layers += l.stochastic_depth.has_value();
  for (LayerSpec& l : spec.layers) {
    if (!l.stochastic_depth) continue;
    ++depth;
    l.stochastic_depth_p = l.stochastic_depth_linear ? float(double(*l.stochastic_depth) * depth / depth_layers)
                                                     : *l.stochastic_depth;
  }
}

// The last layer gives 'classes' flat features.
void check_output(const ModelSpec& spec, const std::string& path, const std::string& where) {
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
}

}  // namespace

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

  read_input_shape(root, path, spec);
  read_classes(root, path, spec);
  if (const auto loss = root.find("loss"); loss != root.end()) spec.loss = parse_loss_spec(*loss, path);

  // "layers": [...]
  const auto layers = root.find("layers");
  if (layers == root.end()) fail(path, "", "missing 'layers' (the list of layers)");
  if (!layers->is_array() || layers->empty()) {
    fail(path, "", "'layers' must be a non-empty array of layer objects, got " + show(*layers));
  }

  const std::string where = read_layers(*layers, path, spec);
  check_aux_sources(spec);

  apply_depth_decay(spec);
  check_output(spec, path, where);
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
