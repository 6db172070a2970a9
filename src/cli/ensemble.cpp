// `fovea ensemble`: several finished runs evaluated together, their softmax
// outputs averaged (weighted if asked).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "cli/command.h"
#include "io/atomic_file.h"
#include "io/npy.h"
#include "train/ensemble.h"

namespace fovea::cli {

namespace {

class Ensemble final : public Command {
 public:
  explicit Ensemble(CLI::App& app)
      : Command(app.add_subcommand("ensemble",
                                   "Evaluate the average of several runs' softmax outputs: each member's and the "
                                   "ensemble's loss and accuracy")) {
    sub_->add_option("--runs", runs_,
                     "Run directories (the --out of fovea train), comma-separated; they must share the input "
                     "shape and the classes")
        ->delimiter(',')
        ->required();
    add_data_option(sub_, opts_.data_dir, true)
        ->description("The data (any source, as fovea eval --data; default: the first run's, read as it read it)");
    sub_->add_option("--split", opts_.split,
                     "test; val (the source's validation images, else the runs' holdout: the members must have "
                     "held out the same images)")
        ->check(CLI::IsMember({"test", "val"}))
        ->capture_default_str();
    sub_->add_option("--weights", weights_,
                     "One weight >= 0 per run, comma-separated (normalised to sum 1; default: equal)")
        ->delimiter(',');
    sub_->add_option("--json", json_, "Write the members' and the ensemble's loss and accuracy here");
    sub_->add_option("--logits", logits_,
                     "Write the log of the ensemble's probabilities as float32 .npy of shape [N, classes] (their "
                     "softmax gives the probabilities back), in the split's image order");
    add_device_options(sub_, device_);
  }

  int run(const std::vector<std::string>&) override {
    const std::vector<train::RunInfo> runs = train::load_ensemble(runs_);
    const std::vector<double> weights = train::ensemble_weights(weights_, runs.size());
    auto ctx = open_context(device_);
    const train::EnsembleResult r = train::evaluate_ensemble(*ctx, runs, weights, opts_);
    std::printf("device: %s\n%s", ctx->info().name.c_str(), train::ensemble_table(r).c_str());
    if (!json_.empty()) {
      io::write_file_atomically(json_, train::ensemble_json(r));
      std::printf("wrote %s\n", json_.c_str());
    }
    if (!logits_.empty()) {
      std::vector<float> log_p(r.probabilities.size());
      for (size_t i = 0; i < log_p.size(); ++i)
        log_p[i] = float(std::log(std::max(r.probabilities[i], double(std::numeric_limits<float>::min()))));
      io::write_npy_f32(logits_, log_p, r.images, r.classes);
      std::printf("wrote %s: log probabilities [%llu, %u] float32\n", logits_.c_str(), (unsigned long long)r.images,
                  r.classes);
    }
    return finish_validation(*ctx);
  }

 private:
  train::EvalOptions opts_;
  std::vector<std::string> runs_;
  std::vector<double> weights_;
  std::string json_, logits_;
  DeviceOptions device_;
};

}  // namespace

std::unique_ptr<Command> add_ensemble(CLI::App& app) { return std::make_unique<Ensemble>(app); }

}  // namespace fovea::cli
