#include "cli/command.h"

#include <cstdio>

#include "cli/environment.h"

namespace fovea::cli {

void add_device_options(CLI::App* sub, DeviceOptions& o, bool with_validate) {
  sub->add_option("--device", o.device, "Device index or name substring (also FOVEA_DEVICE)");
  if (with_validate)
    sub->add_flag("--validate", o.validate,
                  "Enable the Khronos validation layer with synchronisation validation (also FOVEA_VALIDATION=1)");
}

CLI::Option* add_data_option(CLI::App* sub, std::string& dir, bool run_default) {
  const char* help =
      "The data: a folder of IDX files (raw or .gz), a folder with train/<class>/ (and optionally val/, test/) "
      "subfolders of images, or a .csv manifest (path,label[,split]); see docs/data.md";
  if (run_default) return sub->add_option("--data", dir, std::string(help) + " (default: the run's, read as it read it)");
  return sub->add_option("--data", dir, help)->capture_default_str();
}

CLI::Option* add_resize_option(CLI::App* sub, std::string& resize) {
  return sub
      ->add_option("--resize", resize,
                   "Image files of another size than the first training image: crop, stretch or pad (as fovea "
                   "train --resize)")
      ->check(CLI::IsMember({"crop", "stretch", "pad"}))
      ->capture_default_str();
}

data::Source open_images(const std::string& data, const std::string& resize) {
  data::SourceOptions o;
  o.resize = data::parse_resize(resize);
  o.decode.progress = true;
  return data::open_source(data, o);
}

CLI::Option* add_run_option(CLI::App* sub, std::string& dir) {
  return sub->add_option("--run", dir, "Run directory (the --out of fovea train)");
}

std::unique_ptr<gpu::Context> open_context(const DeviceOptions& o) {
  return gpu::Context::create(context_options(read_environment(), o.device, o.validate));
}

int finish_validation(gpu::Context& ctx) {
  if (!ctx.validating()) return 0;
  const uint64_t n = ctx.validation().count();
  if (n == 0) {
    std::fprintf(stderr, "validation: no messages\n");
    return 0;
  }
  std::fprintf(stderr, "fovea: the validation layer reported %llu message(s)\n", (unsigned long long)n);
  return 3;
}

}  // namespace fovea::cli
