// The one place where the `fovea` command reads FOVEA_* environment
// variables: each becomes an option value before anything runs.
//
// FOVEA_DEVICE and FOVEA_VALIDATION are read here. The kernel-choice
// variables (FOVEA_FAST, FOVEA_KERNELS, FOVEA_LIMITS, FOVEA_TUNE) are still
// read by the library where they take effect (src/gpu); docs/cli.md lists
// them all.
#pragma once
#include <string>

namespace fovea::cli {

struct Environment {
  std::string device;       // FOVEA_DEVICE: an index or a name substring; "" = unset
  bool validation = false;  // FOVEA_VALIDATION set to anything but "" or "0"
};

Environment read_environment();

}  // namespace fovea::cli
