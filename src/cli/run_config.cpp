// `--config RUN.json`: the run config file's entries as command-line
// arguments (run_args.h). Apart from the rest of run_args so that its
// fuzz target (tests/fuzz) builds without the trainer.
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/run_args.h"
#include "util/error.h"

namespace fovea::cli {

std::vector<std::string> config_arguments(const nlohmann::json& j, const CLI::App& sub, const std::string& where,
                                          const std::function<bool(const std::string&)>& skip) {
  std::vector<std::string> out;
  for (const auto& item : j.items()) {
    // Named copies, not structured bindings: the lambdas below capture them
    // (clang 14, the fuzz build's compiler, cannot capture a binding).
    const std::string key = item.key();
    const nlohmann::json& value = item.value();
    const CLI::Option* opt = sub.get_option_no_throw("--" + key);
    if (!opt || key == "config" || key == "help")
      throw fovea::Error(where + ": unknown option '" + key + "' (see fovea " + sub.get_name() + " --help)");
    if (skip && skip(key)) continue;
    auto text = [&](const nlohmann::json& v) -> std::string {
      if (v.is_string()) return v.get<std::string>();
      if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
      if (v.is_number()) {  // the shortest text that reads back the same double; 2.0 as "2"
        std::string d = v.dump();
        if (d.size() > 2 && d.compare(d.size() - 2, 2, ".0") == 0) d.resize(d.size() - 2);
        return d;
      }
      throw fovea::Error(where + ": option '" + key + "' has a value of the wrong kind");
    };
    if (value.is_boolean()) {
      if (opt->get_expected_min() != 0)
        throw fovea::Error(where + ": option '" + key + "' takes a value, not true/false");
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
  return out;
}

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
  for (const std::string& a : config_arguments(j, sub, "run config " + path, given)) out.push_back(a);
  for (auto a = args.begin() + 2; a != args.end(); ++a) {
    if (a == it) {
      ++a;  // drop --config FILE
      continue;
    }
    out.push_back(*a);
  }
  return out;
}

}  // namespace fovea::cli
