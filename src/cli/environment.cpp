#include "cli/environment.h"

#include <cstdlib>
#include <cstring>

namespace fovea::cli {

Environment read_environment() {
  Environment env;
  if (const char* d = std::getenv("FOVEA_DEVICE"); d && *d) env.device = d;
  const char* v = std::getenv("FOVEA_VALIDATION");
  env.validation = v && *v && std::strcmp(v, "0") != 0;
  return env;
}

}  // namespace fovea::cli
