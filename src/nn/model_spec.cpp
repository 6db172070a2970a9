// Model spec parsing. The rules live in model_spec.h; this file checks each
// one in order and stops at the first violation with a message of the form
//   model <path>: [layers[i] (<type>): ]<field and what was wrong>
// so a user can fix the file without reading our source.
#include "nn/model_spec.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace fovea::nn {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxSide = 4096;
constexpr uint64_t kMaxInputFeatures = uint64_t(1) << 26;
constexpr int64_t kMinClasses = 2, kMaxClasses = 16384;  // = ops::kMaxClasses (the loss kernel's loop budget)
constexpr int64_t kMaxUnits = 65536;

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

// "[784]" or "[1, 28, 28]". Built with += because GCC 12 gives a false
// -Wrestrict warning on "[" + std::to_string(...).
std::string shape_str(uint32_t c, uint32_t h, uint32_t w, bool flat) {
  std::string s = "[";
  if (flat) {
    s += std::to_string(uint64_t(c) * h * w);
  } else {
    s += std::to_string(c) + ", " + std::to_string(h) + ", " + std::to_string(w);
  }
  return s + "]";
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

}  // namespace

const char* layer_type_name(LayerType t) {
  switch (t) {
    case LayerType::Flatten: return "flatten";
    case LayerType::Dense: return "dense";
    case LayerType::Relu: return "relu";
  }
  return "unknown";
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
    if (key != "input" && key != "classes" && key != "layers") {
      fail(path, "", "unknown key '" + key + "' (expected input, classes, layers)");
    }
  }

  ModelSpec spec;
  spec.path = path;

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

  // "layers": [...]
  const auto layers = root.find("layers");
  if (layers == root.end()) fail(path, "", "missing 'layers' (the list of layers)");
  if (!layers->is_array() || layers->empty()) {
    fail(path, "", "'layers' must be a non-empty array of layer objects, got " + show(*layers));
  }

  // The activation shape as it flows through the layers. A [C, H, W] tensor
  // with C == H == 1 is already a row vector, so dense may take it directly.
  uint32_t c = spec.channels, h = spec.height, w = spec.width;
  bool flat = (c == 1 && h == 1);
  std::string where;
  for (size_t i = 0; i < layers->size(); ++i) {
    const json& L = (*layers)[i];
    where = "layers[" + std::to_string(i) + "]";
    if (!L.is_object()) {
      fail(path, where, "must be an object such as {\"type\": \"relu\"}, got " + show(L));
    }
    const auto t = L.find("type");
    if (t == L.end()) fail(path, where, "missing 'type' (one of flatten, dense, relu)");
    const std::string tname = t->is_string() ? t->get<std::string>() : std::string();
    LayerSpec layer;
    if (tname == "flatten") {
      layer.type = LayerType::Flatten;
    } else if (tname == "dense") {
      layer.type = LayerType::Dense;
    } else if (tname == "relu") {
      layer.type = LayerType::Relu;
    } else {
      fail(path, where, "'type' must be one of flatten, dense, relu, got " + show(*t));
    }
    where += std::string(" (") + layer_type_name(layer.type) + ")";

    for (const auto& [key, value] : L.items()) {
      const bool known =
          key == "type" || (layer.type == LayerType::Dense && (key == "units" || key == "bias"));
      if (!known) {
        fail(path, where,
             "unknown field '" + key + "' (a " + layer_type_name(layer.type) + " layer takes " +
                 (layer.type == LayerType::Dense ? "type, units and optional bias" : "only type") +
                 ")");
      }
    }

    switch (layer.type) {
      case LayerType::Flatten:
        // [C, H, W] -> [C*H*W]; a no-op on an already flat tensor.
        flat = true;
        break;
      case LayerType::Relu:
        break;  // elementwise: shape unchanged
      case LayerType::Dense: {
        const auto u = L.find("units");
        if (u == L.end()) fail(path, where, "missing 'units' (the number of output features)");
        const auto units = as_int(*u);
        if (!units || *units < 1) {
          fail(path, where, "'units' must be a positive integer, got " + show(*u));
        }
        if (*units > kMaxUnits) {
          fail(path, where, "'units' must be at most " + std::to_string(kMaxUnits) + ", got " +
                                show(*u));
        }
        if (const auto b = L.find("bias"); b != L.end()) {
          if (!b->is_boolean()) fail(path, where, "'bias' must be true or false, got " + show(*b));
          layer.bias = b->get<bool>();
        }
        if (!flat) {
          fail(path, where, "its input has shape " + shape_str(c, h, w, false) +
                                ", but a dense layer needs a flat input; put a "
                                "{\"type\": \"flatten\"} layer before it");
        }
        layer.units = uint32_t(*units);
        // y: [units] = W x + b
        c = 1;
        h = 1;
        w = layer.units;
        flat = true;
        break;
      }
    }
    spec.layers.push_back(layer);
  }

  // `where` still names the last layer.
  if (!flat) {
    fail(path, where, "the last layer's output has shape " + shape_str(c, h, w, false) +
                          " but must be flat with 'classes' = " + std::to_string(spec.classes) +
                          " features; end with a dense layer of " +
                          std::to_string(spec.classes) + " units");
  }
  const uint64_t out = uint64_t(c) * h * w;
  if (out != spec.classes) {
    fail(path, where, "the last layer outputs " + std::to_string(out) +
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
