#include "cli/run_args.h"

#include <utility>

#include "train/checkpoint.h"
#include "util/error.h"

namespace fovea::cli {

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
