// The one place where the `fovea` command reads FOVEA_* environment
// variables: each becomes an option value before anything runs. The library
// reads none; it takes them as gpu::ContextOptions (and the API as
// fovea::api::DeviceOptions). docs/cli.md lists them all.
#pragma once
#include <cstdint>
#include <string>

#include "gpu/context.h"

namespace fovea::cli {

struct Environment {
  std::string device;       // FOVEA_DEVICE: an index or a name substring; "" = unset
  bool validation = false;  // FOVEA_VALIDATION set to anything but "" or "0"
  std::string fast;         // FOVEA_FAST: 0, 1, fp16 or fp32 ("" = unset; checked by the context)
  bool portable = false;    // FOVEA_KERNELS=portable
  std::string limits;       // FOVEA_LIMITS (gpu::apply_limits)
  bool tune = true;         // FOVEA_TUNE=0 turns the tuner off
  // FOVEA_TEST_DEVICE_LOST=N (tests only): the Nth replayed program's
  // submission fails as a lost device would (gpu::ContextOptions); 0 = unset.
  uint64_t lose_device_at_submit = 0;
};

Environment read_environment();

// The context options of a run: --device and --validate given on the
// command line win over FOVEA_DEVICE and FOVEA_VALIDATION; the kernel
// choices and the test-only fault injection come from the environment.
gpu::ContextOptions context_options(const Environment& env, const std::string& device = "", bool validate = false);

}  // namespace fovea::cli
