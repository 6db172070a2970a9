// Reading a model spec's JSON (nn/spec_reader.h).
#include "nn/spec_reader.h"

#include <limits>
#include <set>

#include "util/error.h"

namespace fovea::nn::spec_reader {

[[noreturn]] void fail(const std::string& path, const std::string& where,
                       const std::string& msg) {
  throw Error("model " + path + ": " + (where.empty() ? "" : where + ": ") + msg);
}

// A JSON value as the user wrote it (roughly), cut short so a huge array
// cannot flood the message.
std::string show(const json& j) {
  std::string s = j.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// The value of an integer JSON number; nullopt for floats (even 10.0),
// booleans, strings and the rest. Unsigned values beyond int64 saturate,
// which every range check below then rejects.
std::optional<int64_t> as_int(const json& j) {
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    return u > uint64_t(std::numeric_limits<int64_t>::max())
               ? std::numeric_limits<int64_t>::max()
               : int64_t(u);
  }
  if (j.is_number_integer()) return j.get<int64_t>();
  return std::nullopt;
}

// Parses with a callback that rejects repeated keys: nlohmann keeps the last
// silently, and {"units": 10, "units": 256} should not train a 256-wide layer
// without a word. JSON syntax errors become fovea::Error with the position.
json parse_json(const std::string& text, const std::string& path) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  auto cb = [&](int /*depth*/, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (ev == json::parse_event_t::key && !keys.empty()) {
      const std::string k = parsed.get<std::string>();
      if (!keys.back().insert(k).second) {
        fail(path, "", "key '" + k + "' appears twice in the same object");
      }
    }
    return true;
  };
  try {
    return json::parse(text, cb);
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line L,
    // column C: ..."; the bracketed tag means nothing to a user.
    std::string what = e.what();
    if (const size_t p = what.find("] "); what.rfind("[json.exception", 0) == 0 &&
                                          p != std::string::npos) {
      what = what.substr(p + 2);
    }
    fail(path, "", "invalid JSON: " + what);
  }
}

const std::vector<TypeInfo>& types() {
  static const std::vector<TypeInfo> t = {
      {"flatten", LayerType::Flatten, {}},
      {"reshape", LayerType::Reshape, {"shape"}},
      {"dense", LayerType::Dense,
       {"units", "bias", "spectral_norm", "power_iterations", "l1", "l2", "drop_connect"}},
      {"conv2d", LayerType::Conv2d,
       {"out_channels", "kernel", "stride", "padding", "dilation", "groups", "bias",
        "weight_standardization", "spectral_norm", "power_iterations", "l1", "l2", "drop_connect"}},
      {"conv_transpose2d", LayerType::ConvTranspose2d,
       {"out_channels", "kernel", "stride", "padding", "output_padding", "dilation", "groups", "bias", "l1",
        "l2"}},
      {"maxpool2d", LayerType::MaxPool2d, {"kernel", "stride", "padding", "dilation"}},
      {"avgpool2d", LayerType::AvgPool2d, {"kernel", "stride", "padding", "count_include_pad"}},
      {"global_avgpool2d", LayerType::GlobalAvgPool2d, {}},
      {"maxpool_dropout", LayerType::MaxPoolDropout, {"kernel", "stride", "padding", "p"}},
      {"avgpool_dropout", LayerType::AvgPoolDropout, {"kernel", "stride", "padding", "count_include_pad", "p"}},
      {"max_drop", LayerType::MaxDrop, {"p", "mode"}},
      {"fractional_maxpool2d", LayerType::FractionalMaxPool2d,
       {"output_ratio", "output_size", "pseudo_random", "overlapping"}},
      {"batchnorm2d", LayerType::BatchNorm2d, {"eps", "momentum", "affine"}},
      {"batchnorm1d", LayerType::BatchNorm1d, {"eps", "momentum", "affine"}},
      {"layernorm", LayerType::LayerNorm, {"eps", "elementwise_affine"}},
      {"instancenorm2d", LayerType::InstanceNorm2d, {"eps", "affine"}},
      {"groupnorm", LayerType::GroupNorm, {"num_groups", "eps", "affine"}},
      {"add", LayerType::Add, {"stochastic_depth", "stochastic_depth_decay"}},
      {"concat", LayerType::Concat, {}},
      {"channel_shuffle", LayerType::ChannelShuffle, {"groups"}},
      {"squeeze_excitation", LayerType::SqueezeExcitation, {"reduction"}},
      {"relu", LayerType::Relu, {}},
      {"leaky_relu", LayerType::LeakyRelu, {"negative_slope"}},
      {"elu", LayerType::Elu, {"alpha"}},
      {"selu", LayerType::Selu, {}},
      {"gelu", LayerType::Gelu, {}},
      {"tanh", LayerType::Tanh, {}},
      {"sigmoid", LayerType::Sigmoid, {}},
      {"softplus", LayerType::Softplus, {"beta", "threshold"}},
      {"dropout", LayerType::Dropout, {"p"}},
      {"dropout2d", LayerType::Dropout2d, {"p"}},
      {"gaussian_dropout", LayerType::GaussianDropout, {"p"}},
      {"alpha_dropout", LayerType::AlphaDropout, {"p"}},
  };
  return t;
}

std::string type_list() {
  std::string s;
  for (const auto& t : types()) s += (s.empty() ? "" : ", ") + std::string(t.name);
  return s + ", aux_head";
}

}  // namespace fovea::nn::spec_reader
