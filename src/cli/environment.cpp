#include "cli/environment.h"

#include <cstdlib>
#include <cstring>

namespace fovea::cli {

Environment read_environment() {
  Environment env;
  if (const char* d = std::getenv("FOVEA_DEVICE"); d && *d) env.device = d;
  const char* v = std::getenv("FOVEA_VALIDATION");
  env.validation = v && *v && std::strcmp(v, "0") != 0;
  if (const char* f = std::getenv("FOVEA_FAST"); f && *f) env.fast = f;
  const char* k = std::getenv("FOVEA_KERNELS");
  env.portable = k && std::strcmp(k, "portable") == 0;
  if (const char* l = std::getenv("FOVEA_LIMITS"); l && *l) env.limits = l;
  const char* t = std::getenv("FOVEA_TUNE");
  env.tune = !(t && std::strcmp(t, "0") == 0);
  if (const char* n = std::getenv("FOVEA_TEST_DEVICE_LOST")) env.lose_device_at_submit = std::strtoull(n, nullptr, 10);
  return env;
}

gpu::ContextOptions context_options(const Environment& env, const std::string& device, bool validate) {
  gpu::ContextOptions o;
  o.device = device.empty() ? env.device : device;
  o.validate = validate || env.validation;
  o.fast = env.fast;
  o.portable = env.portable;
  o.limits = env.limits;
  o.tune = env.tune;
  o.lose_device_at_submit = env.lose_device_at_submit;
  return o;
}

}  // namespace fovea::cli
