#include "cli/predict.h"

#include <cstdio>

#include "data/source.h"
#include "gpu/context.h"
#include "train/evaluate.h"
#include "train/predict.h"
#include "util/error.h"

namespace fovea::cli {

void add_predict(CLI::App& app, PredictCommand& c) {
  c.app = app.add_subcommand("predict",
                             "Answer for single images with a run's final weights: the top classes by name with "
                             "softmax probabilities, each image decoded, resized and standardised as the run's "
                             "training data was");
  c.app->add_option("--run", c.run, "Run directory (the --out of fovea train)")->required();
  c.app->add_option("IMAGE_OR_FOLDER", c.inputs,
                    "Image files (PNG, JPEG, BMP, TGA, GIF), or folders: every image file in them, in bytewise "
                    "order of the names")
      ->required();
  c.app->add_option("--top", c.top, "Classes shown per image, most probable first")->capture_default_str();
  c.app->add_flag("--json", c.json,
                  "stdout holds exactly one JSON object per image, in the order given: {\"path\", \"top\": "
                  "[{\"class\", \"label\", \"probability\"}, ...]}");
  c.app->add_option("--device", c.device, "Device index or name substring (also FOVEA_DEVICE)");
  c.app->add_flag("--validate", c.validate, "Enable the Khronos validation layer (also FOVEA_VALIDATION=1)");
}

int run_predict(const PredictCommand& c) {
  if (c.top == 0) throw Error("--top must be at least 1");
  const train::RunInfo run = train::load_run(c.run);
  // Folders expand to their image files; a missing path is a bad image like a corrupt one.
  std::vector<std::string> files, missing;
  for (const std::string& in : c.inputs) {
    try {
      for (std::string& f : data::image_files(in)) files.push_back(std::move(f));
    } catch (const Error& e) {
      std::fprintf(stderr, "fovea: %s\n", e.what());
      missing.push_back(in);
    }
  }
  if (files.empty()) return 1;  // every path was missing or an empty folder: said above
  auto ctx = gpu::Context::create({c.device, c.validate});
  std::fprintf(stderr, "run %s (device: %s): %zu image(s)\n", run.dir.c_str(), ctx->info().name.c_str(), files.size());
  int status = missing.empty() ? 0 : 1;
  for (const train::Prediction& p : train::predict_files(*ctx, run, files, c.top)) {
    if (!p.error.empty()) {
      std::fprintf(stderr, "fovea: %s\n", p.error.c_str());
      status = 1;
      continue;
    }
    std::printf("%s\n", (c.json ? train::prediction_json(run, p) : train::prediction_text(run, p)).c_str());
  }
  std::fflush(stdout);
  if (ctx->validating()) {
    const uint64_t n = ctx->validation().count();
    std::fprintf(stderr, n ? "fovea: the validation layer reported %llu message(s)\n" : "validation: no messages\n",
                 (unsigned long long)n);
    if (n) return 3;
  }
  return status;
}

}  // namespace fovea::cli
