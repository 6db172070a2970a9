#include "nn/loss_spec.h"

#include <cmath>

#include "util/error.h"

namespace fovea::nn {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& msg) {
  throw Error("model " + path + ": 'loss': " + msg);
}

struct KindName {
  LossKind kind;
  const char* name;
};
constexpr KindName kKinds[] = {{LossKind::CrossEntropy, "cross_entropy"},
                               {LossKind::Mse, "mse"},
                               {LossKind::BceWithLogits, "bce_with_logits"}};

}  // namespace

const char* loss_name(LossKind k) {
  for (const KindName& n : kKinds)
    if (n.kind == k) return n.name;
  return "unknown";
}

LossSpec parse_loss_spec(const json& j, const std::string& path) {
  if (!j.is_object())
    fail(path, "must be an object such as {\"type\": \"cross_entropy\", \"label_smoothing\": 0.1}, got " + j.dump());
  const auto t = j.find("type");
  if (t == j.end()) fail(path, "missing 'type' (cross_entropy, mse or bce_with_logits)");
  LossSpec loss;
  bool found = false;
  for (const KindName& n : kKinds)
    if (t->is_string() && t->get<std::string>() == n.name) loss.kind = n.kind, found = true;
  if (!found) fail(path, "'type' must be one of cross_entropy, mse, bce_with_logits, got " + t->dump());
  for (const auto& [key, value] : j.items()) {
    if (key == "type") continue;
    if (key != "label_smoothing")
      fail(path, "unknown field '" + key + "' (the loss takes type and, for cross_entropy, label_smoothing)");
    if (loss.kind != LossKind::CrossEntropy)
      fail(path, std::string("'label_smoothing' applies to cross_entropy only, not ") + loss_name(loss.kind));
    const double e = value.is_number() ? value.get<double>() : -1.0;
    if (!(e >= 0.0 && e < 1.0) || !std::isfinite(e))
      fail(path, "'label_smoothing' must be a number in [0, 1), got " + value.dump());
    loss.label_smoothing = e;
  }
  return loss;
}

std::string loss_json(const LossSpec& loss) {
  json j = {{"type", loss_name(loss.kind)}};
  if (loss.kind == LossKind::CrossEntropy) j["label_smoothing"] = loss.label_smoothing;
  return j.dump();
}

ModelSpec with_label_smoothing(const ModelSpec& spec, double smoothing) {
  if (spec.loss.kind != LossKind::CrossEntropy)
    throw Error("--label-smoothing applies to the cross_entropy loss; the model " + spec.path + " uses " +
                loss_name(spec.loss.kind));
  if (!(smoothing >= 0.0 && smoothing < 1.0))
    throw Error("--label-smoothing must be in [0, 1), got " + std::to_string(smoothing));
  json root = json::parse(spec.json);
  root["loss"] = {{"type", "cross_entropy"}, {"label_smoothing", smoothing}};
  return parse_model_spec_text(root.dump(), spec.path);
}

}  // namespace fovea::nn
