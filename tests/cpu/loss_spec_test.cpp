// The model spec's "loss": the default, each type, the label smoothing
// override (which the canonical JSON then carries), and every error naming
// the file and field.
#include <catch2/catch.hpp>
#include <string>

#include "nn/model_spec.h"
#include "util/error.h"

using Catch::Contains;
using fovea::nn::LossKind;
using fovea::nn::parse_model_spec_text;

namespace {

std::string mlp(const std::string& loss) {
  return R"({"input": [1, 28, 28], "classes": 10, )" + (loss.empty() ? "" : R"("loss": )" + loss + ", ") +
         R"("layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]})";
}

}  // namespace

TEST_CASE("loss spec: default cross-entropy without smoothing; each type parses", "[model_spec][loss]") {
  const auto plain = parse_model_spec_text(mlp(""), "m.json");
  CHECK(plain.loss.kind == LossKind::CrossEntropy);
  CHECK(plain.loss.label_smoothing == 0.0);
  CHECK(plain.json.find("loss") == std::string::npos);  // existing specs keep their canonical text
  const auto smooth = parse_model_spec_text(mlp(R"({"type": "cross_entropy", "label_smoothing": 0.1})"), "m.json");
  CHECK(smooth.loss.kind == LossKind::CrossEntropy);
  CHECK(smooth.loss.label_smoothing == 0.1);
  CHECK(parse_model_spec_text(mlp(R"({"type": "mse"})"), "m.json").loss.kind == LossKind::Mse);
  CHECK(parse_model_spec_text(mlp(R"({"type": "bce_with_logits"})"), "m.json").loss.kind == LossKind::BceWithLogits);
  CHECK(fovea::nn::loss_json(smooth.loss) == R"({"label_smoothing":0.1,"type":"cross_entropy"})");
  CHECK(fovea::nn::loss_json(fovea::nn::LossSpec{LossKind::Mse, 0}) == R"({"type":"mse"})");
}

TEST_CASE("loss spec: --label-smoothing overrides and enters the canonical JSON", "[model_spec][loss]") {
  const auto plain = parse_model_spec_text(mlp(""), "m.json");
  const auto s = fovea::nn::with_label_smoothing(plain, 0.2);
  CHECK(s.loss.label_smoothing == 0.2);
  CHECK(s.json.find(R"("loss":{"label_smoothing":0.2,"type":"cross_entropy"})") != std::string::npos);
  CHECK(s.layers.size() == plain.layers.size());
  CHECK_THROWS_WITH(fovea::nn::with_label_smoothing(plain, 1.0), Contains("--label-smoothing must be in [0, 1), got 1"));
  const auto mse = parse_model_spec_text(mlp(R"({"type": "mse"})"), "m.json");
  CHECK_THROWS_WITH(fovea::nn::with_label_smoothing(mse, 0.1),
                    "--label-smoothing applies to the cross_entropy loss; the model m.json uses mse");
}

TEST_CASE("loss spec: every error names the file and the field", "[model_spec][loss]") {
  struct Case {
    const char* loss;
    const char* message;
  };
  for (const Case& c : {
           Case{R"("mse")", R"(model m.json: 'loss': must be an object such as {"type": "cross_entropy", "label_smoothing": 0.1}, got "mse")"},
           Case{R"({})", "model m.json: 'loss': missing 'type' (cross_entropy, mse or bce_with_logits)"},
           Case{R"({"type": "l1"})", R"(model m.json: 'loss': 'type' must be one of cross_entropy, mse, bce_with_logits, got "l1")"},
           Case{R"({"type": "mse", "label_smoothing": 0.1})", "model m.json: 'loss': 'label_smoothing' applies to cross_entropy only, not mse"},
           Case{R"({"type": "cross_entropy", "label_smoothing": -0.1})", "model m.json: 'loss': 'label_smoothing' must be a number in [0, 1), got -0.1"},
           Case{R"({"type": "cross_entropy", "label_smoothing": "0.1"})", R"(model m.json: 'loss': 'label_smoothing' must be a number in [0, 1), got "0.1")"},
           Case{R"({"type": "cross_entropy", "weight": 1})", "model m.json: 'loss': unknown field 'weight' (the loss takes type and, for cross_entropy, label_smoothing)"},
       }) {
    INFO(c.loss);
    CHECK_THROWS_WITH(parse_model_spec_text(mlp(c.loss), "m.json"), c.message);
  }
}
