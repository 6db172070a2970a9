// `fovea predict --run DIR IMAGE_OR_FOLDER... [--top 3] [--json]`: a run's
// answer for single images (train/predict.h does the work). Every image,
// a folder standing for its image files in bytewise order of their names,
// is answered in the order given: one line each on stdout (with --json one
// JSON object per line and nothing else; logs on stderr). A missing or bad
// image is reported on stderr, the others are answered, and the exit
// status is 1.
#include <cstdio>

#include "cli/command.h"
#include "data/source.h"
#include "train/evaluate.h"
#include "train/predict.h"
#include "util/error.h"

namespace fovea::cli {

namespace {

class Predict final : public Command {
 public:
  explicit Predict(CLI::App& app)
      : Command(app.add_subcommand("predict",
                                   "Answer for single images with a run's final weights: the top classes by name with "
                                   "softmax probabilities, each image decoded, resized and standardised as the run's "
                                   "training data was")) {
    add_run_option(sub_, run_)->required();
    sub_->add_option("IMAGE_OR_FOLDER", inputs_,
                     "Image files (PNG, JPEG, BMP, TGA, GIF), or folders: every image file in them, in bytewise "
                     "order of the names")
        ->required();
    sub_->add_option("--top", top_, "Classes shown per image, most probable first")->capture_default_str();
    sub_->add_flag("--json", json_,
                   "stdout holds exactly one JSON object per image, in the order given: {\"path\", \"top\": "
                   "[{\"class\", \"label\", \"probability\"}, ...]}");
    add_device_options(sub_, device_);
  }

  int run(const std::vector<std::string>&) override {
    if (top_ == 0) throw Error("--top must be at least 1");
    const train::RunInfo run = train::load_run(run_);
    // Folders expand to their image files; a missing path is a bad image like a corrupt one.
    std::vector<std::string> files;
    int status = 0;
    for (const std::string& in : inputs_) {
      try {
        for (std::string& f : data::image_files(in)) files.push_back(std::move(f));
      } catch (const Error& e) {
        std::fprintf(stderr, "fovea: %s\n", e.what());
        status = 1;
      }
    }
    if (files.empty()) return 1;  // every path was missing or an empty folder: said above
    auto ctx = open_context(device_);
    std::fprintf(stderr, "run %s (device: %s): %zu image(s)\n", run.dir.c_str(), ctx->info().name.c_str(),
                 files.size());
    for (const train::Prediction& p : train::predict_files(*ctx, run, files, top_)) {
      if (!p.error.empty()) {
        std::fprintf(stderr, "fovea: %s\n", p.error.c_str());
        status = 1;
        continue;
      }
      std::printf("%s\n", (json_ ? train::prediction_json(run, p) : train::prediction_text(run, p)).c_str());
    }
    std::fflush(stdout);
    const int validation = finish_validation(*ctx);
    return validation ? validation : status;
  }

 private:
  std::string run_;
  std::vector<std::string> inputs_;
  uint32_t top_ = 3;
  bool json_ = false;
  DeviceOptions device_;
};

}  // namespace

std::unique_ptr<Command> add_predict(CLI::App& app) { return std::make_unique<Predict>(app); }

}  // namespace fovea::cli
