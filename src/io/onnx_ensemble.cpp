#include "io/onnx_ensemble.h"

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace fovea::io {

namespace {

// Appends member `m`'s graph to `g`, every name prefixed; its input is
// `input`, its output becomes PREFIX + "logits".
void append_member(onnx::Graph& g, onnx::Graph m, const std::string& prefix, const std::string& input) {
  auto rename = [&](std::string& name) { name = name == "input" ? input : prefix + name; };
  for (onnx::Node& n : m.nodes) {
    rename(n.name);
    for (std::string& i : n.inputs) rename(i);
    for (std::string& o : n.outputs) rename(o);
    g.nodes.push_back(std::move(n));
  }
  for (onnx::Tensor& t : m.initializers) {
    rename(t.name);
    g.initializers.push_back(std::move(t));
  }
}

onnx::Tensor float_tensor(std::string name, std::vector<int64_t> dims, std::vector<float> values) {
  onnx::Tensor t;
  t.name = std::move(name);
  t.dims = std::move(dims);
  t.floats = std::move(values);
  return t;
}

onnx::Node node(const std::string& op, std::vector<std::string> inputs, const std::string& out,
                std::vector<onnx::Attribute> attrs = {}) {
  return {op, out, std::move(inputs), {out}, std::move(attrs)};
}

// The member's input from the ensemble's: x (s0 / s) + (m0 - m) / s per
// channel, so both standardise the same pixels; "input" itself when the
// standardisations agree.
std::string restandardised(onnx::Graph& g, const OnnxExportInput& first, const OnnxExportInput& member,
                           const std::string& prefix) {
  if (member.mean == first.mean && member.std == first.std) return "input";
  std::vector<float> scale, shift;
  for (size_t c = 0; c < member.mean.size(); ++c) {
    scale.push_back(float(first.std[c] / member.std[c]));
    shift.push_back(float((first.mean[c] - member.mean[c]) / member.std[c]));
  }
  const int64_t C = int64_t(member.mean.size());
  g.initializers.push_back(float_tensor(prefix + "input_scale", {C, 1, 1}, scale));
  g.initializers.push_back(float_tensor(prefix + "input_shift", {C, 1, 1}, shift));
  g.nodes.push_back(node("Mul", {"input", prefix + "input_scale"}, prefix + "input_scaled"));
  g.nodes.push_back(node("Add", {prefix + "input_scaled", prefix + "input_shift"}, prefix + "input"));
  return prefix + "input";
}

}  // namespace

onnx::Model export_onnx_ensemble(const std::vector<OnnxExportInput>& members, const std::vector<double>& weights,
                                 const std::vector<std::string>& runs) {
  if (members.empty() || weights.size() != members.size() || runs.size() != members.size())
    throw Error("internal: export_onnx_ensemble needs one weight and run name per member");
  onnx::Model out;
  out.producer_version = members[0].producer_version;
  onnx::Graph& g = out.graph;
  g.name = "fovea_ensemble";
  std::vector<std::string> weighted;
  nlohmann::json listed = nlohmann::json::array();
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string prefix = "member" + std::to_string(i) + "/";
    const std::string input = restandardised(g, members[0], members[i], prefix);
    append_member(g, export_onnx(members[i]).graph, prefix, input);
    g.nodes.push_back(node("Softmax", {prefix + "logits"}, prefix + "softmax", {onnx::Attribute::of_int("axis", 1)}));
    g.initializers.push_back(float_tensor(prefix + "weight", {}, {float(weights[i])}));
    g.nodes.push_back(node("Mul", {prefix + "softmax", prefix + "weight"}, prefix + "weighted"));
    weighted.push_back(prefix + "weighted");
    listed.push_back({{"run", runs[i]}, {"weight", weights[i]}, {"spec", members[i].spec->json}});
  }
  g.nodes.push_back(node("Sum", weighted, "probabilities"));
  const nn::ModelSpec& spec = *members[0].spec;
  g.inputs.push_back({"input", {{0, "batch"}, {spec.channels, ""}, {spec.height, ""}, {spec.width, ""}}});
  g.outputs.push_back({"probabilities", {{0, "batch"}, {spec.classes, ""}}});
  const std::string mean = nlohmann::json(members[0].mean).dump(), std = nlohmann::json(members[0].std).dump();
  out.doc_string = "Fovea ensemble of " + std::to_string(members.size()) +
                   " models in evaluation mode. input: [batch, C, H, W] float32 images already standardised per "
                   "channel, (pixel / 255 - mean[c]) / std[c], with mean " + mean + " and std " + std +
                   "; output: probabilities [batch, " + std::to_string(spec.classes) +
                   "], the weighted mean of the members' softmax outputs.";
  out.metadata = {{"mean", mean}, {"std", std}, {"members", listed.dump()}};
  return out;
}

}  // namespace fovea::io
