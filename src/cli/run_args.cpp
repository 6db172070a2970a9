#include "cli/run_args.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "train/checkpoint.h"
#include "util/error.h"

namespace fovea::cli {

std::vector<std::string> expand_run_config(const std::vector<std::string>& args, const CLI::App& sub) {
  auto it = std::find(args.begin(), args.end(), "--config");
  if (it == args.end() || it + 1 == args.end()) return args;
  const std::string path = *(it + 1);
  std::ifstream f(path);
  if (!f) throw fovea::Error("cannot read run config " + path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw fovea::Error("run config " + path + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw fovea::Error("run config " + path + ": expected a JSON object of option names and values");
  std::vector<std::string> out(args.begin(), args.begin() + 2);  // the program and the subcommand
  auto given = [&](const std::string& name) {
    return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
      return a == "--" + name || a.rfind("--" + name + "=", 0) == 0;
    });
  };
  for (const auto& [key, value] : j.items()) {
    const CLI::Option* opt = sub.get_option_no_throw("--" + key);
    if (!opt || key == "config" || key == "help")
      throw fovea::Error("run config " + path + ": unknown option '" + key + "' (see fovea " + sub.get_name() +
                         " --help)");
    if (given(key)) continue;
    auto text = [&](const nlohmann::json& v) -> std::string {
      if (v.is_string()) return v.get<std::string>();
      if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
      if (v.is_number()) {
        std::ostringstream o;
        o.precision(17);
        o << v.get<double>();
        return o.str();
      }
      throw fovea::Error("run config " + path + ": option '" + key + "' has a value of the wrong kind");
    };
    if (value.is_boolean()) {
      if (opt->get_expected_min() != 0)
        throw fovea::Error("run config " + path + ": option '" + key + "' takes a value, not true/false");
      if (value.get<bool>()) out.push_back("--" + key);
    } else if (value.is_array()) {
      std::string joined;
      for (const auto& v : value) joined += (joined.empty() ? "" : ",") + text(v);
      out.push_back("--" + key);
      out.push_back(joined);
    } else {
      out.push_back("--" + key);
      out.push_back(text(value));
    }
  }
  for (auto a = args.begin() + 2; a != args.end(); ++a) {
    if (a == it) {
      ++a;  // drop --config FILE
      continue;
    }
    out.push_back(*a);
  }
  return out;
}

namespace {

// Options that change how a run is watched, not what it computes: a resumed
// run may set them afresh, and a checkpoint's settings leave them out.
const std::vector<std::pair<std::string, bool>> kRuntimeOptions = {
    {"--device", true}, {"--validate", false}, {"--no-progress", false}, {"--profile", false}};

// Whether args[i] is option `name` ("--name" or "--name=value"), and how many
// arguments it spans.
size_t option_span(const std::vector<std::string>& args, size_t i, const std::string& name, bool takes_value) {
  if (args[i] == name) return takes_value ? 2 : 1;
  if (takes_value && args[i].rfind(name + "=", 0) == 0) return 1;
  return 0;
}

}  // namespace

std::vector<std::string> run_settings(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 2; i < args.size();) {
    size_t skip = option_span(args, i, "--out", true) + option_span(args, i, "--resume", true);
    for (const auto& [name, value] : kRuntimeOptions) skip += option_span(args, i, name, value);
    if (skip) {
      i += skip;
      continue;
    }
    out.push_back(args[i++]);
  }
  return out;
}

std::vector<std::string> expand_resume(const std::vector<std::string>& args) {
  auto it = args.begin() + 1;  // "train"
  size_t at = 0;
  std::string dir;
  for (size_t i = 0; i < args.size(); ++i)
    if (option_span(args, i, "--resume", true)) {
      at = i;
      dir = args[i] == "--resume" ? (i + 1 < args.size() ? args[i + 1] : "") : args[i].substr(9);
    }
  if (at == 0) return args;
  if (dir.empty()) throw fovea::Error("--resume needs the run directory to continue");
  std::vector<std::string> out(args.begin(), it + 1);
  for (const std::string& a : fovea::train::checkpoint_args(dir)) out.push_back(a);
  for (size_t i = size_t(it - args.begin()) + 1; i < args.size();) {
    size_t n = option_span(args, i, "--resume", true);
    for (const auto& [name, value] : kRuntimeOptions) n += option_span(args, i, name, value);
    if (n == 0)
      throw fovea::Error("--resume continues " + dir + " with its own settings; '" + args[i] +
                         "' cannot be given with it (only --device, --validate, --no-progress, --profile)");
    if (option_span(args, i, "--resume", true) == 0) out.insert(out.end(), args.begin() + i, args.begin() + i + n);
    i += n;
  }
  for (const std::string& a : {std::string("--out"), dir, std::string("--resume"), dir}) out.push_back(a);
  return out;
}

}  // namespace fovea::cli
