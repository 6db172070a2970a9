// `fovea devices`: the Vulkan devices, duplicates removed, best marked.
#include <cstdio>

#include "cli/command.h"
#include "cli/environment.h"

namespace fovea::cli {

namespace {

class Devices final : public Command {
 public:
  explicit Devices(CLI::App& app)
      : Command(app.add_subcommand(
            "devices", "List Vulkan devices (duplicates removed), best marked, with the limits and features kernels "
                       "are chosen from (FOVEA_LIMITS=vulkan11-min clamps them; FOVEA_FAST=0 forces the portable "
                       "kernels; see docs/portability.md)")) {}

  int run(const std::vector<std::string>&) override {
    const auto list = gpu::list_devices(read_environment().limits);
    const size_t best = gpu::best_device(list);
    for (size_t i = 0; i < list.size(); ++i)
      std::printf("%s%s\n", gpu::describe(list[i]).c_str(), i == best ? "\n    (best: used by default)" : "");
    return 0;
  }
};

}  // namespace

std::unique_ptr<Command> add_devices(CLI::App& app) { return std::make_unique<Devices>(app); }

}  // namespace fovea::cli
