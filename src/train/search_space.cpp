#include "train/search_space.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "util/error.h"
#include "util/file.h"
#include "util/rng.h"

namespace fovea::train {

namespace {

double four_digits(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return std::strtod(buf, nullptr);
}

SearchDim read_range(const std::string& where, const nlohmann::ordered_json& v) {
  SearchDim d;
  if (v.size() != 1 || !(v.contains("uniform") || v.contains("log_uniform")))
    throw Error(where + ": expected a list of values, {\"uniform\": [lo, hi]} or {\"log_uniform\": [lo, hi]}");
  const bool log = v.contains("log_uniform");
  const auto& r = v.begin().value();
  const std::string name = log ? "log_uniform" : "uniform";
  if (!r.is_array() || r.size() != 2 || !r[0].is_number() || !r[1].is_number())
    throw Error(where + ": " + name + " needs two numbers [lo, hi], got " + r.dump());
  d.kind = log ? SearchDim::Kind::log_uniform : SearchDim::Kind::uniform;
  d.lo = r[0].get<double>();
  d.hi = r[1].get<double>();
  if (!std::isfinite(d.lo) || !std::isfinite(d.hi) || !(d.lo < d.hi))
    throw Error(where + ": " + name + " needs lo < hi, got " + r.dump());
  if (log && !(d.lo > 0)) throw Error(where + ": log_uniform needs lo > 0, got " + r.dump());
  return d;
}

bool scalar(const nlohmann::ordered_json& v) { return v.is_number() || v.is_string() || v.is_boolean(); }

}  // namespace

std::vector<SearchDim> read_search_space(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error("cannot read search space " + path);
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw Error("search space " + path + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object() || j.empty())
    throw Error("search space " + path + ": expected a JSON object of option names and values to search");
  std::vector<SearchDim> space;
  for (const auto& item : j.items()) {
    const std::string where = "search space " + path + ": \"" + item.key() + "\"";
    const auto& v = item.value();
    SearchDim d;
    if (v.is_object()) {
      d = read_range(where, v);
    } else if (v.is_array() && !v.empty()) {
      for (const auto& e : v) {
        const bool ok = scalar(e) || (e.is_array() && !e.empty() && std::all_of(e.begin(), e.end(), scalar));
        if (!ok) throw Error(where + ": value " + e.dump() + " is not a number, string, true/false or list of them");
        d.values.push_back(nlohmann::json::parse(e.dump()));
      }
    } else {
      throw Error(where + ": expected a non-empty list of values, {\"uniform\": [lo, hi]} or "
                          "{\"log_uniform\": [lo, hi]}, got " + v.dump());
    }
    d.key = item.key();
    space.push_back(d);
  }
  return space;
}

uint64_t grid_size(const std::vector<SearchDim>& space) {
  uint64_t n = 1;
  for (const SearchDim& d : space) n = std::min<uint64_t>(n * std::max<size_t>(d.values.size(), 1), 0xFFFFFFFFull);
  return n;
}

std::vector<nlohmann::json> search_trials(const std::vector<SearchDim>& space, const std::string& method,
                                          uint32_t trials, uint64_t seed, const std::string& path) {
  std::vector<nlohmann::json> out;
  if (method == "grid") {
    for (const SearchDim& d : space)
      if (d.kind != SearchDim::Kind::list)
        throw Error("search space " + path + ": \"" + d.key + "\" is a range, which --method grid cannot enumerate; "
                    "give a list of values or use --method random");
    const uint64_t n = grid_size(space);
    const uint64_t take = trials == 0 ? n : std::min<uint64_t>(n, trials);
    for (uint64_t i = 0; i < take; ++i) {
      nlohmann::json s = nlohmann::json::object();
      uint64_t rest = i;
      for (size_t k = space.size(); k-- > 0;) {  // the last key varies fastest
        s[space[k].key] = space[k].values[rest % space[k].values.size()];
        rest /= space[k].values.size();
      }
      out.push_back(s);
    }
    return out;
  }
  if (method != "random") throw Error("unknown --method '" + method + "' (random or grid)");
  data::Rng rng(seed);
  for (uint32_t i = 0; i < trials; ++i) {
    nlohmann::json s = nlohmann::json::object();
    for (const SearchDim& d : space) {
      if (d.kind == SearchDim::Kind::list) {
        s[d.key] = d.values[rng.below(d.values.size())];
        continue;
      }
      const double u = double(rng.next() >> 11) * 0x1.0p-53;  // [0, 1)
      double v = d.kind == SearchDim::Kind::uniform
                     ? d.lo + u * (d.hi - d.lo)
                     : std::exp(std::log(d.lo) + u * (std::log(d.hi) - std::log(d.lo)));
      if (d.integer)  // the range holds a whole number (checked by the command)
        s[d.key] = int64_t(std::llround(std::clamp(std::round(v), std::ceil(d.lo), std::floor(d.hi))));
      else
        s[d.key] = std::clamp(four_digits(v), d.lo, d.hi);
    }
    out.push_back(s);
  }
  return out;
}

nlohmann::json trial_json(const TrialRecord& r, const std::string& metric) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"trial", r.trial},        {"dir", "trial-" + std::to_string(r.trial)},
          {"settings", r.settings},  {"metric", metric},
          {"mean", opt(r.mean)},     {"std", opt(r.std)},
          {"epoch1", opt(r.epoch1)}, {"pruned", r.pruned},
          {"stop_reason", r.stop_reason}, {"seconds", r.seconds}};
}

std::vector<TrialRecord> read_search_log(const std::string& path) {
  std::vector<TrialRecord> out;
  std::ifstream f(path, std::ios::binary);
  if (!f) return out;
  std::stringstream buf;
  buf << f.rdbuf();
  const std::string text = buf.str();
  std::string kept;
  size_t at = 0, line = 0;
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    const bool last = end == std::string::npos;
    const std::string s = text.substr(at, last ? std::string::npos : end - at);
    at = last ? text.size() : end + 1;
    ++line;
    const std::string where = path + " line " + std::to_string(line);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(s);
    } catch (const nlohmann::json::exception&) {
      if (last) {  // cut short by a kill: the trial runs again
        std::printf("search: %s ends in a line cut short; dropped\n", path.c_str());
        write_atomically(path, kept);
        break;
      }
      throw Error(where + ": not valid JSON");
    }
    TrialRecord r;
    try {
      r.trial = j.at("trial").get<uint32_t>();
      r.settings = j.at("settings");
      auto num = [&](const char* k) {
        return j.at(k).is_null() ? std::optional<double>() : std::optional<double>(j.at(k).get<double>());
      };
      r.mean = num("mean");
      r.std = num("std");
      r.epoch1 = num("epoch1");
      r.pruned = j.at("pruned").get<bool>();
      r.stop_reason = j.at("stop_reason").get<std::string>();
      r.seconds = j.at("seconds").get<double>();
    } catch (const nlohmann::json::exception& e) {
      throw Error(where + ": not a trial line (" + e.what() + ")");
    }
    if (r.trial != out.size())
      throw Error(where + ": trial " + std::to_string(r.trial) + " where trial " + std::to_string(out.size()) +
                  " belongs");
    out.push_back(r);
    kept += s + "\n";
  }
  return out;
}

bool metric_better(const std::string& metric, double value, double best) {
  return metric == "val_loss" ? value < best : value > best;
}

std::optional<size_t> best_trial(const std::vector<TrialRecord>& records, const std::string& metric) {
  std::optional<size_t> best;
  for (size_t i = 0; i < records.size(); ++i) {
    const TrialRecord& r = records[i];
    if (r.pruned || !r.mean || !std::isfinite(*r.mean)) continue;
    if (!best || metric_better(metric, *r.mean, *records[*best].mean)) best = i;
  }
  return best;
}

bool prune_trial(const std::vector<TrialRecord>& earlier, const std::string& metric, double value) {
  std::vector<double> v;
  for (const TrialRecord& r : earlier)
    if (r.epoch1 && std::isfinite(*r.epoch1)) v.push_back(*r.epoch1);
  if (v.size() < 2) return false;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return !std::isfinite(value) || metric_better(metric, median, value);
}

}  // namespace fovea::train
