// Model specs with channel_shuffle, squeeze_excitation and aux heads: the
// shipped fashion_se.json, the fields' rules, and aux heads' rules, each
// error naming the file, the entry and the field.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "nn/model_spec.h"
#include "util/error.h"

namespace fs = std::filesystem;
using Catch::Contains;
using fovea::nn::LayerType;
using fovea::nn::parse_model_spec_text;

namespace {

const std::string kPath = "models/block.json";

std::string spec_with(const std::string& layers, const std::string& loss = "") {
  return R"({"input": [6, 9, 7], "classes": 4, )" + loss + R"("layers": )" + layers + "}";
}

// conv "a" -> relu -> [aux head entry] -> flatten -> dense 4
std::string with_aux(const std::string& aux, const std::string& loss = "") {
  return spec_with(R"([{"type": "conv2d", "out_channels": 4, "kernel": 3, "name": "a"}, {"type": "relu"}, )" + aux +
                       R"(, {"type": "flatten"}, {"type": "dense", "units": 4}])",
                   loss);
}

const std::string kHead = R"({"type": "flatten"}, {"type": "dense", "units": 4})";

}  // namespace

TEST_CASE("model spec: the shipped fashion_se.json has shuffles, squeeze-excitation and one aux head",
          "[model_spec][aux]") {
  const fs::path path = fs::path(__FILE__).parent_path().parent_path().parent_path() / "assets/models/fashion_se.json";
  const auto spec = fovea::nn::load_model_spec(path.string());
  REQUIRE(spec.layers.size() == 16);  // the aux_head entry is not a main layer
  CHECK(spec.layers[5].type == LayerType::ChannelShuffle);
  CHECK(spec.layers[5].groups == 2);
  CHECK(spec.layers[8].type == LayerType::SqueezeExcitation);
  CHECK(spec.layers[8].squeeze == 4);
  CHECK(spec.layers[9].inputs == std::vector<int32_t>{8});  // past the aux head to se1
  CHECK(spec.layers[9].prefix == "10");                     // tensors keep the file's numbering
  CHECK(spec.layers[8].prefix == "se1");
  REQUIRE(spec.aux.size() == 1);
  CHECK(spec.aux[0].from == 8);
  CHECK(spec.aux[0].weight == 0.3);
  REQUIRE(spec.aux[0].layers.size() == 3);
  CHECK(spec.aux[0].layers[2].prefix == "aux.2");
  CHECK(spec.aux[0].layers[2].out.size() == 10);
  CHECK(fovea::nn::tensor_prefix(spec.layers[9], 9) == "10");
}

TEST_CASE("model spec: channel_shuffle and squeeze_excitation fields and shapes", "[model_spec]") {
  auto parse = [](const std::string& layer) {
    return parse_model_spec_text(spec_with("[" + layer + R"(, {"type": "flatten"}, {"type": "dense", "units": 4}])"), kPath);
  };
  CHECK(parse(R"({"type": "channel_shuffle", "groups": 3})").layers[0].out.str() == "[6, 9, 7]");
  const auto se = parse(R"({"type": "squeeze_excitation"})");
  CHECK(se.layers[0].reduction == 16);
  CHECK(se.layers[0].squeeze == 1);  // max(1, 6 / 16)
  CHECK(parse(R"({"type": "squeeze_excitation", "reduction": 4})").layers[0].squeeze == 1);
  CHECK(parse(R"({"type": "squeeze_excitation", "reduction": 2})").layers[0].squeeze == 3);
  CHECK_THROWS_WITH(parse(R"({"type": "channel_shuffle", "groups": 4})"),
                    Contains(kPath) && Contains("layers[0] (channel_shuffle): 'groups' 4 must divide the channels (6)"));
  CHECK_THROWS_WITH(parse(R"({"type": "channel_shuffle"})"), Contains("missing 'groups'"));
  CHECK_THROWS_WITH(parse(R"({"type": "squeeze_excitation", "reduction": 0})"),
                    Contains("layers[0] (squeeze_excitation): 'reduction' must be a positive integer, got 0"));
  CHECK_THROWS_WITH(parse(R"({"type": "squeeze_excitation", "groups": 2})"), Contains("unknown field 'groups'"));
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with(R"([{"type": "flatten"}, {"type": "squeeze_excitation"},
                                                       {"type": "dense", "units": 4}])"), kPath),
                    Contains("layers[1] (squeeze_excitation): squeeze_excitation gates the channels of a [C, H, W] input, got [378]"));
}

TEST_CASE("model spec: aux heads read a main layer, end with the classes and stay out of the main graph",
          "[model_spec][aux]") {
  const auto spec = parse_model_spec_text(
      with_aux(R"({"type": "aux_head", "from": "a", "weight": 0.5, "layers": [)" + kHead + "]}"), kPath);
  REQUIRE(spec.layers.size() == 4);
  CHECK(spec.layers[2].type == LayerType::Flatten);
  CHECK(spec.layers[2].inputs == std::vector<int32_t>{1});
  CHECK(spec.layers[2].name == "layers.3");
  REQUIRE(spec.aux.size() == 1);
  CHECK(spec.aux[0].name == "layers.2");
  CHECK(spec.aux[0].layers[0].prefix == "2.0");
  CHECK(spec.aux[0].layers[1].prefix == "2.1");
  CHECK(spec.aux[0].layers[0].out.size() == 4 * 7 * 5);
}

TEST_CASE("model spec: bad aux heads name the entry and the field", "[model_spec][aux]") {
  auto aux = [](const std::string& fields, const std::string& layers = kHead, const std::string& loss = "") {
    return parse_model_spec_text(
        with_aux(R"({"type": "aux_head", )" + fields + R"(, "layers": [)" + layers + "]}", loss), kPath);
  };
  CHECK_THROWS_WITH(aux(R"("from": "b", "weight": 0.3)"),
                    Contains(kPath) && Contains("layers[2] (aux_head): 'from' names 'b', which is not an earlier layer"));
  CHECK_THROWS_WITH(aux(R"("weight": 0.3)"), Contains("'from' must name an earlier layer, got nothing"));
  CHECK_THROWS_WITH(aux(R"("from": "a", "weight": 0)"), Contains("'weight' must be a number in (0, 100], got 0"));
  CHECK_THROWS_WITH(aux(R"("from": "a", "weight": "big")"), Contains("'weight' must be a number in (0, 100]"));
  CHECK_THROWS_WITH(aux(R"("from": "a", "weight": 1, "p": 1)"), Contains("unknown field 'p' (an aux_head takes"));
  CHECK_THROWS_WITH(aux(R"("from": "a", "weight": 1)", R"({"type": "flatten"}, {"type": "dense", "units": 5})"),
                    Contains("layers[2] (aux_head): its last layer outputs [5] but must output 'classes' = 4"));
  CHECK_THROWS_WITH(aux(R"("from": "a", "weight": 1)", R"({"type": "dense", "units": 4})"),
                    Contains("layers[2] (aux_head): layers[0] (dense): its input has shape [4, 7, 5]"));
  CHECK_THROWS_WITH(aux(R"("from": "a", "weight": 1)", R"({"type": "flatten", "name": "x"}, {"type": "dense", "units": 4})"),
                    Contains("unknown field 'name' (a flatten layer in an aux head takes type)"));
  CHECK_THROWS_WITH(aux(R"("from": "a", "weight": 1)", R"({"type": "aux_head"})"),
                    Contains("an aux head cannot hold another aux_head"));
  CHECK_THROWS_WITH(aux(R"("from": "a", "weight": 1)", kHead, R"("loss": {"type": "mse"}, )"),
                    Contains("an aux head adds a cross-entropy, but the model's loss is mse"));
  CHECK_THROWS_WITH(aux(R"("from": "a", "weight": 1, "name": "a")"), Contains("'name' 'a' is used by an earlier layer"));
  // The source must feed the main graph too, and cannot be the logits.
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with(R"([{"type": "flatten", "name": "f"}, {"type": "dense", "units": 4, "name": "z"},
      {"type": "aux_head", "from": "z", "weight": 1, "layers": [{"type": "dense", "units": 4}]}])"), kPath),
                    Contains("aux_head 'layers.2': 'from' names the last layer 'z' (the logits)"));
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with(R"([{"type": "flatten", "name": "f"}, {"type": "dense", "units": 3, "name": "side"},
      {"type": "aux_head", "from": "side", "weight": 1, "layers": [{"type": "dense", "units": 4}]},
      {"type": "dense", "units": 4, "inputs": ["f"]}])"), kPath),
                    Contains("'from' names 'side', which no later layer reads"));
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with(R"([{"type": "aux_head", "from": "input", "weight": 1, "layers": []}])"), kPath),
                    Contains("'from' names 'input', which is not an earlier layer"));
}
