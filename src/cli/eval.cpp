// `fovea eval`: a finished run's final weights on the test files, its
// validation holdout or its training images.
#include <cstdio>

#include "cli/command.h"
#include "io/atomic_file.h"
#include "io/npy.h"
#include "train/evaluate.h"

namespace fovea::cli {

namespace {

constexpr const char* kTestCorruptHelp =
    "Also evaluate the split under each corruption NAME=VALUE (comma-separated; each on the original images, "
    "into the JSON's 'corrupted'): blur=SIGMA, noise=STD, contrast=FACTOR (0-1, kept), brightness=SHIFT (-1 to 1), "
    "saltpepper=FRACTION, translate=PIXELS, jpeg=QUALITY (1-100); one fixed seed";

class Eval final : public Command {
 public:
  explicit Eval(CLI::App& app)
      : Command(app.add_subcommand(
            "eval", "Evaluate a run's final weights: loss, accuracy, per-class accuracy, confusion matrix")) {
    add_run_option(sub_, run_)->required();
    add_data_option(sub_, opts_.data_dir, true);
    sub_->add_option("--split", opts_.split,
                     "test; val (the source's validation images, else the run's holdout, rebuilt from its seed, "
                     "--limit and --val-split); train (the run's training images without the holdout)")
        ->capture_default_str();
    sub_->add_option("--json", json_, "Write the results here (default RUN/eval-<split>.json; with "
                                      "corruption RUN/eval-<split>-blur<S>-noise<STD>.json; under attack ...-fgsm<EPS> or -pgd<EPS>x<STEPS>)");
    sub_->add_option("--logits", logits_,
                     "Also write the logits as float32 .npy of shape [N, classes], in the source's order of the "
                     "split's images (a manifest's rows, a folder's bytewise paths)");
    sub_->add_option("--blur-sigma", opts_.blur_sigma, "Blur the images by this Gaussian sigma, pixels (robustness)")
        ->capture_default_str();
    sub_->add_option("--noise", opts_.noise_std,
                     "Add Gaussian noise of this std, [0, 1] pixel units, seeded as fovea train --test-noise "
                     "(robustness)")
        ->capture_default_str();
    sub_->add_option("--test-corrupt", opts_.corrupt, kTestCorruptHelp)->delimiter(',');
    sub_->add_option("--fgsm", opts_.fgsm,
                     "Evaluate under an FGSM attack of this eps ([0, 1] pixel units, clipped to valid pixels): each "
                     "batch moved by eps sign(dloss/dinput) of the evaluation-mode loss");
    sub_->add_option("--pgd", opts_.pgd,
                     "EPS:STEPS: evaluate under PGD, STEPS steps of 2.5 EPS / STEPS from the clean batch, each "
                     "projected onto the EPS ball (no random start)");
    add_device_options(sub_, device_);
  }

  int run(const std::vector<std::string>&) override {
    opts_.logits = !logits_.empty();
    const train::RunInfo run = train::load_run(run_);
    auto ctx = open_context(device_);
    const train::EvalResult r = train::evaluate_run(*ctx, run, opts_);
    if (json_.empty()) {
      std::string name = "eval-" + opts_.split;
      if (opts_.blur_sigma > 0 || opts_.noise_std > 0)
        name += "-blur" + CLI::detail::to_string(opts_.blur_sigma) + "-noise" + CLI::detail::to_string(opts_.noise_std);
      if (r.attack.any())  // -fgsm0.1, -pgd0.1x10
        name += r.attack.steps > 1 || !opts_.pgd.empty()
                    ? "-pgd" + CLI::detail::to_string(r.attack.eps) + "x" + std::to_string(r.attack.steps)
                    : "-fgsm" + CLI::detail::to_string(r.attack.eps);
      json_ = run.dir + "/" + name + ".json";
    }
    std::printf("run %s (device: %s)\n%s", run.dir.c_str(), ctx->info().name.c_str(), train::eval_table(r).c_str());
    io::write_file_atomically(json_, train::eval_json(run, opts_, r));
    std::printf("wrote %s\n", json_.c_str());
    if (!logits_.empty()) {
      io::write_npy_f32(logits_, r.logits, r.images, r.classes);
      std::printf("wrote %s: logits [%llu, %u] float32\n", logits_.c_str(), (unsigned long long)r.images, r.classes);
    }
    return finish_validation(*ctx);
  }

 private:
  train::EvalOptions opts_;
  std::string run_, json_, logits_;
  DeviceOptions device_;
};

}  // namespace

std::unique_ptr<Command> add_eval(CLI::App& app) { return std::make_unique<Eval>(app); }

}  // namespace fovea::cli
