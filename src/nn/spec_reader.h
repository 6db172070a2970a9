// Reading a model spec's JSON (nn/model_spec.cpp): the error format
// "model <path>: [where: ]<message>", JSON parsed with repeated keys
// refused, the table of layer types and their fields, and LayerReader, which
// reads one layer's fields with range checks.
#pragma once
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/model_spec.h"

namespace fovea::nn::spec_reader {

using json = nlohmann::json;

// Throws fovea::Error "model <path>: [<where>: ]<msg>".
[[noreturn]] void fail(const std::string& path, const std::string& where, const std::string& msg);
// A JSON value as the user wrote it (roughly), cut short so a huge array
// cannot flood the message.
std::string show(const json& j);
// The value of an integer JSON number; nullopt for floats (even 10.0),
// booleans, strings and the rest. Unsigned values beyond int64 saturate.
std::optional<int64_t> as_int(const json& j);
// Parses `text`, refusing a key repeated in one object; syntax errors name
// the line and column.
json parse_json(const std::string& text, const std::string& path);

// The fields each layer type accepts besides type, name and inputs.
struct TypeInfo {
  const char* name;
  LayerType type;
  std::vector<const char*> fields;
};
const std::vector<TypeInfo>& types();
// Every type name, comma-separated (for messages).
std::string type_list();

// Reads one layer's fields; `fail_at` reports an error at this layer.
class LayerReader {
 public:
  LayerReader(const json& obj, std::string path, std::string where)
      : obj_(obj), path_(std::move(path)), where_(std::move(where)) {}

  [[noreturn]] void error(const std::string& msg) const { fail(path_, where_, msg); }
  bool has(const char* key) const { return obj_.contains(key); }

  // An integer in [lo, hi]; `fallback` when absent, unless required.
  uint32_t integer(const char* key, int64_t lo, int64_t hi, std::optional<int64_t> fallback,
                   const char* what) const {
    const auto it = obj_.find(key);
    if (it == obj_.end()) {
      if (!fallback) error(std::string("missing '") + key + "' (" + what + ")");
      return uint32_t(*fallback);
    }
    const auto v = as_int(*it);
    if (!v || *v < lo)
      error(std::string("'") + key + "' must be " + (lo > 0 ? "a positive integer" : "an integer >= 0") +
            ", got " + show(*it));
    if (*v > hi) error(std::string("'") + key + "' must be at most " + std::to_string(hi) + ", got " + show(*it));
    return uint32_t(*v);
  }

  // An integer or an [h, w] pair, each in [lo, hi].
  void pair(const char* key, int64_t lo, int64_t hi, std::optional<int64_t> fallback,
            uint32_t out[2], const char* what) const {
    const auto it = obj_.find(key);
    if (it == obj_.end()) {
      if (!fallback) error(std::string("missing '") + key + "' (" + what + ")");
      out[0] = out[1] = uint32_t(*fallback);
      return;
    }
    auto one = [&](const json& j) {
      const auto v = as_int(j);
      if (!v || *v < lo || *v > hi)
        error(std::string("'") + key + "' must be an integer in " + std::to_string(lo) + ".." +
              std::to_string(hi) + " or a pair [h, w] of them, got " + show(*it));
      return uint32_t(*v);
    };
    if (it->is_array()) {
      if (it->size() != 2) error(std::string("'") + key + "' as a list must be [h, w], got " + show(*it));
      out[0] = one((*it)[0]);
      out[1] = one((*it)[1]);
    } else {
      out[0] = out[1] = one(*it);
    }
  }

  bool boolean(const char* key, bool fallback) const {
    const auto it = obj_.find(key);
    if (it == obj_.end()) return fallback;
    if (!it->is_boolean()) error(std::string("'") + key + "' must be true or false, got " + show(*it));
    return it->get<bool>();
  }

  // A penalty coefficient: absent, or a finite number >= 0 (kept in double).
  std::optional<double> coefficient(const char* key) const {
    const auto it = obj_.find(key);
    if (it == obj_.end()) return std::nullopt;
    if (!it->is_number() || !(it->get<double>() >= 0) || !std::isfinite(it->get<double>()))
      error(std::string("'") + key + "' must be a number >= 0, got " + show(*it));
    return it->get<double>();
  }

  float number(const char* key, double lo, double hi, float fallback) const {
    const auto it = obj_.find(key);
    if (it == obj_.end()) return fallback;
    if (!it->is_number() || !(it->get<double>() >= lo && it->get<double>() <= hi))
      error(std::string("'") + key + "' must be a number in [" + show(lo) + ", " + show(hi) + "], got " +
            show(*it));
    return float(it->get<double>());
  }

  // A drop probability: a number in [0, 1) (1 would drop everything and
  // divide by zero).
  float probability(const char* key, float fallback) const {
    const auto it = obj_.find(key);
    if (it == obj_.end()) return fallback;
    if (!it->is_number() || !(it->get<double>() >= 0 && it->get<double>() < 1))
      error(std::string("'") + key + "' must be a probability in [0, 1), got " + show(*it));
    return float(it->get<double>());
  }

 private:
  const json& obj_;
  std::string path_, where_;
};

}  // namespace fovea::nn::spec_reader
