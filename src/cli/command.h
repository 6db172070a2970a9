// What every `fovea` subcommand shares: the Command interface main.cpp
// wires, the options several subcommands take (--device, --validate,
// --data), declared here once, and the device they open.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "data/source.h"
#include "gpu/context.h"

namespace fovea::cli {

// The data directory when --data is not given (Debian's dataset-fashion-mnist).
inline constexpr const char* kDefaultDataDir = "/usr/share/datasets/fashion-mnist";

// One subcommand: its options live in the object (CLI11 keeps pointers to
// them, so a Command is created on the heap and never moves).
class Command {
 public:
  explicit Command(CLI::App* sub) : sub_(sub) {}
  virtual ~Command() = default;
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  CLI::App* sub() const { return sub_; }
  // The whole command line before parsing (args[1] is this subcommand),
  // rewritten if the subcommand expands files into arguments (train, cv).
  virtual std::vector<std::string> rewrite(const std::vector<std::string>& args) { return args; }
  // Runs after a successful parse; `args` is the command line as given.
  // Returns the exit code; throws fovea::Error for a bad file or value.
  virtual int run(const std::vector<std::string>& args) = 0;

 protected:
  CLI::App* sub_;
};

std::unique_ptr<Command> add_devices(CLI::App& app);
std::unique_ptr<Command> add_train(CLI::App& app);
std::unique_ptr<Command> add_cv(CLI::App& app);
std::unique_ptr<Command> add_search(CLI::App& app);
std::unique_ptr<Command> add_blur(CLI::App& app);
std::unique_ptr<Command> add_report(CLI::App& app);
std::unique_ptr<Command> add_augment(CLI::App& app);
std::unique_ptr<Command> add_eval(CLI::App& app);
std::unique_ptr<Command> add_predict(CLI::App& app);
std::unique_ptr<Command> add_export(CLI::App& app);
std::unique_ptr<Command> add_ensemble(CLI::App& app);
std::unique_ptr<Command> add_prune(CLI::App& app);
std::unique_ptr<Command> add_audit(CLI::App& app);
std::unique_ptr<Command> add_sharpness(CLI::App& app);
std::unique_ptr<Command> add_bench(CLI::App& app);

// --device and --validate.
struct DeviceOptions {
  std::string device;  // "" = FOVEA_DEVICE, else the best device
  bool validate = false;
};

// Declares --device on `sub`, and --validate too when `with_validate`.
void add_device_options(CLI::App* sub, DeviceOptions& o, bool with_validate = true);

// Declares --data (any source: IDX files, class folders, a CSV manifest;
// docs/data.md). `dir` keeps its value as the default when `run_default`
// is false (kDefaultDataDir, say); with `run_default` the default is the
// run's own data, resolved by the command.
CLI::Option* add_data_option(CLI::App* sub, std::string& dir, bool run_default = false);

// Declares --resize for the commands without a model (`blur`, `augment`).
CLI::Option* add_resize_option(CLI::App* sub, std::string& resize);

// --data for the commands without a model: image files take the first
// training image's shape and are resized to it by `resize`.
data::Source open_images(const std::string& data, const std::string& resize);

// --run DIR: a run directory (the --out of fovea train).
CLI::Option* add_run_option(CLI::App* sub, std::string& dir);

// The device the options name (else FOVEA_DEVICE, else the best), with the
// validation layer when --validate or FOVEA_VALIDATION asks for it.
std::unique_ptr<gpu::Context> open_context(const DeviceOptions& o);

// 0 without validation or without messages ("validation: no messages" on
// stderr); 3, with a line on stderr, when the layer reported any.
int finish_validation(gpu::Context& ctx);

}  // namespace fovea::cli
