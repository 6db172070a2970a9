// Model specs: the shipped MLP parses to the expected layers, and every
// rule in model_spec.h fails with a message naming the file, the layer index
// and the field.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "nn/model_spec.h"
#include "util/error.h"

namespace fs = std::filesystem;
using Catch::Contains;
using fovea::nn::LayerType;
using fovea::nn::ModelSpec;
using fovea::nn::Shape;
using fovea::nn::parse_model_spec_text;

namespace {

const std::string kPath = "models/test.json";

// The repository root, found from this source file so the test runs from
// any working directory.
fs::path repo_root() { return fs::path(__FILE__).parent_path().parent_path().parent_path(); }

// A spec with the given "layers" array text and optional extra top-level
// members, on a [1, 28, 28] input with 10 classes.
std::string spec_with_layers(const std::string& layers, const std::string& extra = "") {
  return R"({"input": [1, 28, 28], "classes": 10, "layers": )" + layers + extra + "}";
}

const std::string kMlpLayers =
    R"([{"type": "flatten"}, {"type": "dense", "units": 256}, {"type": "relu"},
        {"type": "dense", "units": 10}])";

}  // namespace

TEST_CASE("model spec: the shipped assets/models/mlp.json parses to flatten-dense-relu-dense",
          "[model_spec]") {
  const fs::path path = repo_root() / "assets" / "models" / "mlp.json";
  REQUIRE(fs::exists(path));
  const auto spec = fovea::nn::load_model_spec(path.string());
  CHECK(spec.path == path.string());
  CHECK(spec.channels == 1);
  CHECK(spec.height == 28);
  CHECK(spec.width == 28);
  CHECK(spec.input_features() == 784);
  CHECK(spec.classes == 10);
  REQUIRE(spec.layers.size() == 4);
  CHECK(spec.layers[0].type == LayerType::Flatten);
  CHECK(spec.layers[1].type == LayerType::Dense);
  CHECK(spec.layers[1].units == 256);
  CHECK(spec.layers[1].bias);
  CHECK(spec.layers[2].type == LayerType::Relu);
  CHECK(spec.layers[3].type == LayerType::Dense);
  CHECK(spec.layers[3].units == 10);
}

TEST_CASE("model spec: optional bias, flat inputs without flatten, and layer names",
          "[model_spec]") {
  auto spec = parse_model_spec_text(
      spec_with_layers(R"([{"type": "flatten"}, {"type": "dense", "units": 10, "bias": false}])"),
      kPath);
  CHECK_FALSE(spec.layers[1].bias);
  // C == H == 1 is already flat: dense may come first.
  spec = parse_model_spec_text(
      R"({"input": [1, 1, 64], "classes": 3, "layers": [{"type": "dense", "units": 3}]})", kPath);
  CHECK(spec.layers.size() == 1);
  CHECK(spec.input_features() == 64);
  // A relu may end the net when the width already matches; flatten twice is harmless.
  spec = parse_model_spec_text(
      R"({"input": [3, 4, 5], "classes": 60, "layers": [{"type": "flatten"},
          {"type": "flatten"}, {"type": "relu"}]})",
      kPath);
  CHECK(spec.layers.size() == 3);
  CHECK(std::string(fovea::nn::layer_type_name(LayerType::Flatten)) == "flatten");
  CHECK(std::string(fovea::nn::layer_type_name(LayerType::Dense)) == "dense");
  CHECK(std::string(fovea::nn::layer_type_name(LayerType::Relu)) == "relu");
}

TEST_CASE("model spec: invalid JSON names the file and the line and column", "[model_spec]") {
  CHECK_THROWS_AS(parse_model_spec_text("{\"input\": [1, 28, 28],\n  \"classes\": 10,,\n}", kPath),
                  fovea::Error);
  CHECK_THROWS_WITH(parse_model_spec_text("{\"input\": [1, 28, 28],\n  \"classes\": 10,,\n}", kPath),
                    Contains("model " + kPath) && Contains("invalid JSON") &&
                        Contains("line 2, column 17") && !Contains("json.exception"));
  CHECK_THROWS_WITH(parse_model_spec_text("", kPath), Contains(kPath) && Contains("invalid JSON"));
  CHECK_THROWS_WITH(parse_model_spec_text("[1, 2]", kPath),
                    Contains(kPath) && Contains("top level must be an object"));
}

TEST_CASE("model spec: missing or malformed input and classes name the field", "[model_spec]") {
  CHECK_THROWS_WITH(parse_model_spec_text(R"({"classes": 10, "layers": [{"type": "relu"}]})", kPath),
                    Contains(kPath) && Contains("missing 'input'"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(R"({"input": [28, 28], "classes": 10, "layers": []})", kPath),
      Contains("'input' must be an array [C, H, W]") && Contains("[28,28]"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(R"({"input": [1, 0, 28], "classes": 10, "layers": []})", kPath),
      Contains("'input' H (input[1])") && Contains("1..4096") && Contains("got 0"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(R"({"input": [1, 28, 28.5], "classes": 10, "layers": []})", kPath),
      Contains("'input' W (input[2])") && Contains("got 28.5"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(R"({"input": [8, 4096, 4096], "classes": 10, "layers": []})", kPath),
      Contains("'input'") && Contains("134217728 features") && Contains("67108864"));
  CHECK_THROWS_WITH(parse_model_spec_text(R"({"input": [1, 28, 28], "layers": []})", kPath),
                    Contains("missing 'classes'"));
  for (const char* k : {"1", "16385", "10.0", "\"10\"", "-2", "true"}) {
    INFO("classes " << k);
    CHECK_THROWS_WITH(
        parse_model_spec_text(std::string(R"({"input": [1, 28, 28], "classes": )") + k +
                                  R"(, "layers": [{"type": "flatten"}]})",
                              kPath),
        Contains(kPath) && Contains("'classes' must be an integer in 2..16384"));
  }
  CHECK_THROWS_WITH(parse_model_spec_text(R"({"input": [1, 28, 28], "classes": 10})", kPath),
                    Contains("missing 'layers'"));
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with_layers("[]"), kPath),
                    Contains("'layers' must be a non-empty array"));
}

TEST_CASE("model spec: unknown or missing layer type names the layer index and 'type'",
          "[model_spec]") {
  CHECK_THROWS_WITH(
      parse_model_spec_text(spec_with_layers(R"([{"type": "flatten"}, {"type": "conv3d"}])"), kPath),
      Contains("model " + kPath + ": layers[1]: 'type' must be one of flatten, reshape, dense, conv2d") &&
          Contains("\"conv3d\""));
  CHECK_THROWS_WITH(
      parse_model_spec_text(spec_with_layers(R"([{"type": "flatten"}, {"units": 10}])"), kPath),
      Contains("layers[1]: missing 'type'"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(spec_with_layers(R"([{"type": 3}])"), kPath),
      Contains("layers[0]: 'type' must be one of"));
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with_layers(R"([{"type": "flatten"}, "relu"])"), kPath),
                    Contains("layers[1]: must be an object"));
}

TEST_CASE("model spec: bad dense units or bias name the layer index and field", "[model_spec]") {
  for (const char* u : {"-3", "0", "2.5", "\"256\"", "null"}) {
    INFO("units " << u);
    CHECK_THROWS_WITH(
        parse_model_spec_text(spec_with_layers(std::string(R"([{"type": "flatten"}, {"type": "relu"},
            {"type": "dense", "units": )") + u + "}]"),
                              kPath),
        Contains("model " + kPath + ": layers[2] (dense): 'units' must be a positive integer, got " +
                 u));
  }
  CHECK_THROWS_WITH(
      parse_model_spec_text(spec_with_layers(R"([{"type": "flatten"}, {"type": "dense", "units": 70000}])"),
                            kPath),
      Contains("layers[1] (dense): 'units' must be at most 65536, got 70000"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(spec_with_layers(R"([{"type": "flatten"}, {"type": "dense"}])"), kPath),
      Contains("layers[1] (dense): missing 'units'"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(
          spec_with_layers(R"([{"type": "flatten"}, {"type": "dense", "units": 10, "bias": 1}])"),
          kPath),
      Contains("layers[1] (dense): 'bias' must be true or false, got 1"));
}

TEST_CASE("model spec: dense on an unflattened 3-D input names the layer and the shape",
          "[model_spec]") {
  CHECK_THROWS_WITH(
      parse_model_spec_text(spec_with_layers(R"([{"type": "dense", "units": 10}])"), kPath),
      Contains("model " + kPath + ": layers[0] (dense)") && Contains("[1, 28, 28]") &&
          Contains("flat input") && Contains("flatten"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(
          spec_with_layers(R"([{"type": "relu"}, {"type": "dense", "units": 10}])"), kPath),
      Contains("layers[1] (dense)") && Contains("[1, 28, 28]"));
}

TEST_CASE("model spec: the last layer must be flat with exactly 'classes' features",
          "[model_spec]") {
  CHECK_THROWS_WITH(
      parse_model_spec_text(R"({"input": [1, 28, 28], "classes": 12, "layers": )" + kMlpLayers + "}",
                            kPath),
      Contains("model " + kPath + ": layers[3] (dense)") && Contains("outputs 10 features") &&
          Contains("'classes' is 12"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(R"({"input": [1, 28, 28], "classes": 784, "layers": [{"type": "relu"}]})",
                            kPath),
      Contains("layers[0] (relu)") && Contains("[1, 28, 28]") && Contains("must be flat"));
}

TEST_CASE("model spec: unknown fields in a layer or at the top level are errors",
          "[model_spec]") {
  CHECK_THROWS_WITH(
      parse_model_spec_text(
          spec_with_layers(R"([{"type": "flatten"}, {"type": "dense", "units": 256},
                               {"type": "relu", "units": 4}, {"type": "dense", "units": 10}])"),
          kPath),
      Contains("model " + kPath + ": layers[2] (relu): unknown field 'units'"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(
          spec_with_layers(R"([{"type": "flatten"}, {"type": "dense", "unit": 10}])"), kPath),
      Contains("layers[1] (dense): unknown field 'unit'"));
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with_layers(kMlpLayers, R"(, "lr": 0.1)"), kPath),
                    Contains("model " + kPath + ": unknown key 'lr'"));
  // A misspelt key is reported as unknown rather than as a missing field.
  CHECK_THROWS_WITH(
      parse_model_spec_text(R"({"input": [1, 28, 28], "clases": 10, "layers": [{"type": "relu"}]})",
                            kPath),
      Contains("unknown key 'clases'"));
}

TEST_CASE("model spec: a key repeated in one object is an error, not last-one-wins",
          "[model_spec]") {
  CHECK_THROWS_WITH(
      parse_model_spec_text(
          spec_with_layers(
              R"([{"type": "flatten"}, {"type": "dense", "units": 10, "units": 256}])"),
          kPath),
      Contains(kPath) && Contains("key 'units' appears twice"));
  // The same key in different objects is of course fine.
  CHECK_NOTHROW(parse_model_spec_text(spec_with_layers(kMlpLayers), kPath));
}

TEST_CASE("model spec: load_model_spec names a missing file", "[model_spec]") {
  const std::string missing =
      (fs::temp_directory_path() /
       ("fovea_no_such_model_" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".json"))
          .string();
  CHECK_THROWS_WITH(fovea::nn::load_model_spec(missing),
                    Contains("model " + missing) && Contains("cannot open"));
}

namespace {
const char* kCnn = R"({"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1, "name": "stem"},
  {"type": "relu", "name": "a"},
  {"type": "conv2d", "out_channels": 8, "kernel": [3, 3], "padding": [1, 1], "bias": false},
  {"type": "add", "inputs": ["a", "layers.2"]},
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2, "dilation": 2, "groups": 4,
   "padding": 2},
  {"type": "concat", "inputs": ["layers.4", "layers.4"]},
  {"type": "flatten"},
  {"type": "dense", "units": 10}]})";
}  // namespace

TEST_CASE("model spec: conv2d shapes, named inputs, add and concat", "[model_spec]") {
  const auto spec = parse_model_spec_text(kCnn, kPath);
  REQUIRE(spec.layers.size() == 8);
  CHECK(spec.layers[0].out == fovea::nn::Shape{8, 28, 28});
  CHECK(spec.layers[0].name == "stem");
  CHECK(spec.layers[1].inputs == std::vector<int32_t>{0});
  CHECK(spec.layers[2].inputs == std::vector<int32_t>{1});
  CHECK_FALSE(spec.layers[2].bias);
  CHECK(spec.layers[3].inputs == std::vector<int32_t>{1, 2});
  // (28 + 4 - 2*2 - 1) / 2 + 1 = 14
  CHECK(spec.layers[4].out == fovea::nn::Shape{4, 14, 14});
  CHECK(spec.layers[4].groups == 4);
  CHECK(spec.layers[5].out == fovea::nn::Shape{8, 14, 14});
  CHECK(spec.layers[6].out == fovea::nn::Shape{8 * 14 * 14, 1, 1});
  CHECK(spec.layers[0].inputs == std::vector<int32_t>{-1});
}

TEST_CASE("model spec: graph and conv2d errors name the layer and field", "[model_spec]") {
  auto with = [](const std::string& layers) { return spec_with_layers(layers); };
  CHECK_THROWS_WITH(parse_model_spec_text(with(R"([{"type": "relu", "inputs": ["nope"]}])"), kPath),
                    Contains("layers[0] (relu): 'inputs' names 'nope'"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(with(R"([{"type": "relu", "name": "x"}, {"type": "relu", "name": "x"}])"), kPath),
      Contains("layers[1] (relu): 'name' 'x' is used by an earlier layer"));
  CHECK_THROWS_WITH(parse_model_spec_text(with(R"([{"type": "add"}])"), kPath),
                    Contains("layers[0] (add): needs two or more 'inputs'"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(with(R"([{"type": "conv2d", "out_channels": 2, "kernel": 3, "name": "c"},
          {"type": "add", "inputs": ["c", "input"]}])"), kPath),
      Contains("layers[1] (add): adds inputs of different shapes, [2, 26, 26] and [1, 28, 28]"));
  CHECK_THROWS_WITH(parse_model_spec_text(with(R"([{"type": "conv2d", "kernel": 3}])"), kPath),
                    Contains("layers[0] (conv2d): missing 'out_channels'"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(with(R"([{"type": "conv2d", "out_channels": 3, "kernel": 3, "groups": 2}])"), kPath),
      Contains("'groups' 2 must divide the input channels (1)"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(with(R"([{"type": "conv2d", "out_channels": 3, "kernel": 29}])"), kPath),
      Contains("layers[0] (conv2d): the kernel does not fit its input [1, 28, 28]"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(with(R"([{"type": "conv2d", "out_channels": 3, "kernel": [3, 3, 3]}])"), kPath),
      Contains("'kernel' as a list must be [h, w]"));
  CHECK_THROWS_WITH(parse_model_spec_text(with(R"([{"type": "reshape", "shape": [5, 5]}])"), kPath),
                    Contains("layers[0] (reshape): 'shape' [5, 5, 1] holds 25 values but its input [1, 28, 28] holds 784"));
}

TEST_CASE("model spec: per-layer l1 and l2 on layers with weights", "[model_spec]") {
  const fovea::nn::ModelSpec s = parse_model_spec_text(
      R"({"input": [1, 8, 8], "classes": 10, "layers": [
          {"type": "conv2d", "out_channels": 2, "kernel": 3, "l2": 5e-4},
          {"type": "conv_transpose2d", "out_channels": 2, "kernel": 3, "l1": 1e-5},
          {"type": "flatten"}, {"type": "dense", "units": 10, "l1": 0, "l2": 0.25}]})",
      "p.json");
  CHECK(!s.layers[0].l1);
  CHECK(*s.layers[0].l2 == 5e-4);
  CHECK(*s.layers[1].l1 == 1e-5);
  CHECK(*s.layers[3].l1 == 0);
  CHECK(*s.layers[3].l2 == 0.25);
  CHECK(!s.layers[2].l1);
  CHECK_THROWS_WITH(parse_model_spec_text(R"({"input": [1, 8, 8], "classes": 10, "layers": [
          {"type": "flatten"}, {"type": "dense", "units": 10, "l2": -1}]})", "p.json"),
                    Contains("model p.json: layers[1] (dense): 'l2' must be a number >= 0, got -1"));
  CHECK_THROWS_WITH(parse_model_spec_text(R"({"input": [1, 8, 8], "classes": 10, "layers": [
          {"type": "flatten", "l1": 0.1}, {"type": "dense", "units": 10}]})", "p.json"),
                    Contains("layers[0] (flatten): unknown field 'l1'"));
}

namespace {

// A [C, 28, 28] -> pooling layer `layer` -> flatten -> dense 10 spec.
ModelSpec with_pool(const std::string& layer) {
  return parse_model_spec_text(
      spec_with_layers("[" + layer + R"(, {"type": "flatten"}, {"type": "dense", "units": 10}])"), kPath);
}

}  // namespace

TEST_CASE("model spec: pooling dropouts, max-drop and fractional max pooling parse with their defaults",
          "[model_spec]") {
  const ModelSpec m = with_pool(R"({"type": "maxpool_dropout", "kernel": 3, "padding": 1})");
  CHECK(m.layers[0].type == LayerType::MaxPoolDropout);
  CHECK(m.layers[0].p == 0.5f);
  CHECK(m.layers[0].out == Shape{1, 10, 10});  // stride = kernel 3: floor(27 / 3) + 1
  const ModelSpec a = with_pool(R"({"type": "avgpool_dropout", "kernel": 2, "stride": 1, "p": 0.2})");
  CHECK(a.layers[0].type == LayerType::AvgPoolDropout);
  CHECK(a.layers[0].p == 0.2f);
  CHECK(a.layers[0].count_include_pad);
  CHECK(a.layers[0].out == Shape{1, 27, 27});
  const ModelSpec d = with_pool(R"({"type": "max_drop", "mode": "channel", "p": 1})");
  CHECK(d.layers[0].max_drop_channel);
  CHECK(d.layers[0].p == 1.0f);
  CHECK(!with_pool(R"({"type": "max_drop"})").layers[0].max_drop_channel);
  // PyTorch's output size: floor(28 * 0.7) = 19, floor(28 * 0.5) = 14.
  const ModelSpec f = with_pool(R"({"type": "fractional_maxpool2d", "output_ratio": [0.7, 0.5]})");
  CHECK(f.layers[0].out == Shape{1, 19, 14});
  CHECK(!f.layers[0].pseudo_random);
  CHECK(!f.layers[0].overlapping);
  const ModelSpec g = with_pool(
      R"({"type": "fractional_maxpool2d", "output_size": 20, "pseudo_random": true, "overlapping": true})");
  CHECK(g.layers[0].out == Shape{1, 20, 20});
  CHECK(g.layers[0].pseudo_random);
  CHECK(g.layers[0].overlapping);
}

TEST_CASE("model spec: bad fields of the random pooling layers name the layer, field and value", "[model_spec]") {
  CHECK_THROWS_WITH(with_pool(R"({"type": "maxpool_dropout", "kernel": 2, "p": 1})"),
                    Contains("layers[0] (maxpool_dropout): 'p' must be below 1") && Contains(kPath));
  CHECK_THROWS_WITH(with_pool(R"({"type": "avgpool_dropout", "kernel": 2, "p": -0.1})"),
                    Contains("layers[0] (avgpool_dropout): 'p' must be a number in [0.0, 1.0], got -0.1"));
  CHECK_THROWS_WITH(with_pool(R"({"type": "maxpool_dropout", "kernel": 2, "dilation": 2})"),
                    Contains("unknown field 'dilation'"));
  CHECK_THROWS_WITH(with_pool(R"({"type": "max_drop", "mode": "row"})"),
                    Contains("layers[0] (max_drop): 'mode' must be \"map\" or \"channel\", got \"row\""));
  CHECK_THROWS_WITH(with_pool(R"({"type": "max_drop", "p": "half"})"), Contains("'p' must be a number in [0.0, 1.0], got \"half\""));
  CHECK_THROWS_WITH(with_pool(R"({"type": "fractional_maxpool2d"})"),
                    Contains("needs exactly one of 'output_ratio' and 'output_size'"));
  CHECK_THROWS_WITH(with_pool(R"({"type": "fractional_maxpool2d", "output_ratio": 0.5, "output_size": 14})"),
                    Contains("needs exactly one of 'output_ratio' and 'output_size'"));
  CHECK_THROWS_WITH(with_pool(R"({"type": "fractional_maxpool2d", "output_ratio": 1.2})"),
                    Contains("'output_ratio' must be a number in [0.5, 1) or a pair [h, w] of them, got 1.2"));
  CHECK_THROWS_WITH(with_pool(R"({"type": "fractional_maxpool2d", "output_ratio": [0.7, 0.2]})"),
                    Contains("'output_ratio' must be a number in [0.5, 1)"));
  CHECK_THROWS_WITH(with_pool(R"({"type": "fractional_maxpool2d", "output_size": [28, 14]})"),
                    Contains("the output height 28 from the input height 28 makes the ratio alpha = 28/28, outside (1, 2]"));
  CHECK_THROWS_WITH(with_pool(R"({"type": "fractional_maxpool2d", "output_size": [20, 13]})"),
                    Contains("the output width 13 from the input width 28 makes the ratio alpha = 28/13, outside (1, 2]"));
}

TEST_CASE("model spec: dropout layers take a probability p below 1 with PyTorch's default 0.5", "[model_spec]") {
  const auto spec = parse_model_spec_text(spec_with_layers(R"([
      {"type": "conv2d", "out_channels": 3, "kernel": 3},
      {"type": "dropout2d", "p": 0.1},
      {"type": "flatten"},
      {"type": "dropout"},
      {"type": "gaussian_dropout", "p": 0},
      {"type": "alpha_dropout", "p": 0.25},
      {"type": "dense", "units": 10}])"), kPath);
  REQUIRE(spec.layers.size() == 7);
  CHECK(spec.layers[1].type == LayerType::Dropout2d);
  CHECK(spec.layers[1].p == 0.1f);
  CHECK(spec.layers[1].out == spec.layers[0].out);
  CHECK(spec.layers[3].type == LayerType::Dropout);
  CHECK(spec.layers[3].p == 0.5f);
  CHECK(spec.layers[4].type == LayerType::GaussianDropout);
  CHECK(spec.layers[4].p == 0.0f);
  CHECK(spec.layers[5].type == LayerType::AlphaDropout);
  CHECK(spec.layers[5].p == 0.25f);
  for (const char* bad : {"1", "1.5", "-0.1", "\"0.5\"", "true"}) {
    INFO(bad);
    CHECK_THROWS_WITH(
        parse_model_spec_text(spec_with_layers(std::string(R"([{"type": "flatten"}, {"type": "dropout", "p": )") +
                                               bad + R"(}, {"type": "dense", "units": 10}])"),
                              kPath),
        Contains(kPath) && Contains("layers[1] (dropout)") && Contains("'p' must be a probability in [0, 1)") &&
            Contains(std::string("got ") + bad));
  }
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with_layers(R"([{"type": "flatten"}, {"type": "dropout", "rate": 0.5},
      {"type": "dense", "units": 10}])"), kPath),
                    Contains("layers[1] (dropout)") && Contains("unknown field 'rate'"));
}

TEST_CASE("model spec: drop_connect on dense and conv2d weights", "[model_spec]") {
  const auto spec = parse_model_spec_text(spec_with_layers(R"([
      {"type": "conv2d", "out_channels": 3, "kernel": 3, "drop_connect": 0.2, "weight_standardization": true},
      {"type": "flatten"},
      {"type": "dense", "units": 10, "drop_connect": 0.5, "spectral_norm": true}])"), kPath);
  CHECK(spec.layers[0].drop_connect == 0.2f);
  CHECK(spec.layers[2].drop_connect == 0.5f);
  CHECK(parse_model_spec_text(spec_with_layers(kMlpLayers), kPath).layers[1].drop_connect == 0.0f);
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with_layers(R"([{"type": "flatten"},
      {"type": "dense", "units": 10, "drop_connect": 1}])"), kPath),
                    Contains("layers[1] (dense)") && Contains("'drop_connect' must be a probability in [0, 1), got 1"));
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with_layers(R"([
      {"type": "conv_transpose2d", "out_channels": 1, "kernel": 1, "drop_connect": 0.1},
      {"type": "flatten"}, {"type": "dense", "units": 10}])"), kPath),
                    Contains("layers[0] (conv_transpose2d)") && Contains("unknown field 'drop_connect'"));
}

TEST_CASE("model spec: stochastic depth decays linearly over the add layers that set it", "[model_spec]") {
  // Four adds; three set stochastic_depth (one with decay "none"): p_l = p l / 3.
  const auto spec = parse_model_spec_text(spec_with_layers(R"([
      {"type": "flatten", "name": "f"},
      {"type": "add", "inputs": ["f", "f"], "stochastic_depth": 0.3},
      {"type": "add", "inputs": ["f", "layers.1"]},
      {"type": "add", "inputs": ["f", "layers.2"], "stochastic_depth": 0.2, "stochastic_depth_decay": "none"},
      {"type": "add", "inputs": ["f", "layers.3", "f"], "stochastic_depth": 0.3, "stochastic_depth_decay": "linear"},
      {"type": "dense", "units": 10}])"), kPath);
  CHECK(spec.layers[1].stochastic_depth_p == Approx(0.1));
  CHECK(spec.layers[2].stochastic_depth_p == 0.0f);
  CHECK(!spec.layers[2].stochastic_depth.has_value());
  CHECK(spec.layers[3].stochastic_depth_p == 0.2f);
  CHECK(spec.layers[4].stochastic_depth_p == Approx(0.3));
  const std::string head = R"([{"type": "flatten", "name": "f"}, {"type": "add", "inputs": ["f", "f"], )";
  const std::string tail = R"(}, {"type": "dense", "units": 10}])";
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with_layers(head + R"("stochastic_depth": 1.0)" + tail), kPath),
                    Contains("layers[1] (add)") && Contains("'stochastic_depth' must be a probability in [0, 1)"));
  CHECK_THROWS_WITH(parse_model_spec_text(spec_with_layers(head + R"("stochastic_depth_decay": "linear")" + tail), kPath),
                    Contains("layers[1] (add)") && Contains("'stochastic_depth_decay' needs 'stochastic_depth'"));
  CHECK_THROWS_WITH(
      parse_model_spec_text(spec_with_layers(head + R"("stochastic_depth": 0.1, "stochastic_depth_decay": "exp")" + tail),
                            kPath),
      Contains("'stochastic_depth_decay' must be \"linear\" or \"none\", got \"exp\""));
}

TEST_CASE("model spec: the shipped fashion_cnn_dropout.json is fashion_cnn with dropout layers", "[model_spec]") {
  const auto spec = fovea::nn::load_model_spec((repo_root() / "assets" / "models" / "fashion_cnn_dropout.json").string());
  const auto plain = fovea::nn::load_model_spec((repo_root() / "assets" / "models" / "fashion_cnn.json").string());
  std::vector<LayerType> kept;
  int dropout2d = 0, dropout = 0;
  for (const auto& l : spec.layers) {
    dropout2d += l.type == LayerType::Dropout2d && l.p == 0.1f;
    dropout += l.type == LayerType::Dropout && l.p == 0.5f;
    if (l.type != LayerType::Dropout2d && l.type != LayerType::Dropout) kept.push_back(l.type);
  }
  CHECK(dropout2d == 2);
  CHECK(dropout == 1);
  std::vector<LayerType> want;
  for (const auto& l : plain.layers) want.push_back(l.type);
  CHECK(kept == want);
}
