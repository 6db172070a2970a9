// How `fovea train` and `fovea cv` rewrite their command line before
// parsing: --config files become arguments, and --resume brings back a
// run's own settings from its checkpoint.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fovea::cli {

// `fovea train --config RUN.json` (or `fovea cv --config ...`): a JSON
// object of long option names (without the dashes) and values, e.g.
// {"model": "...", "lr": 0.05, "lr-schedule": "cosine", "test-blur": [1, 2],
// "feature-smoothing": true}. Its entries become command-line arguments
// placed before the user's own, skipping options the command line gives, so
// the command line overrides the file. `args` is the whole command line,
// args[1] the subcommand `sub`. Returns the new argument list; throws
// fovea::Error naming the file and key on a bad file or an unknown option.
std::vector<std::string> expand_run_config(const std::vector<std::string>& args, const CLI::App& sub);

// A run config object's entries as arguments of `sub`: "--key value"
// (numbers as the shortest text of the same double, lists joined by commas), "--flag" for true,
// nothing for false; keys `skip` names are left out. Throws fovea::Error
// beginning with `where` (say "run config FILE") for an unknown option or a
// value of the wrong kind.
std::vector<std::string> config_arguments(const nlohmann::json& j, const CLI::App& sub, const std::string& where,
                                          const std::function<bool(const std::string&)>& skip = {});

// The settings a checkpoint records: the arguments after the subcommand
// (args[1]; --config expanded) without --out, --resume and the runtime options.
std::vector<std::string> run_settings(const std::vector<std::string>& args);

// `fovea train --resume DIR`: the run's own settings from DIR's checkpoint,
// plus --out DIR and the runtime options the command line gives; any other
// option is an error (the run must continue as it started).
std::vector<std::string> expand_resume(const std::vector<std::string>& args);

}  // namespace fovea::cli
