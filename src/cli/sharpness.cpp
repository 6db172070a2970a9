// `fovea sharpness`: the loss Hessian and the input-output Jacobian of a
// run's final weights; one JSON object on stdout.
#include <cstdio>

#include "cli/command.h"
#include "probe/sharpness.h"
#include "train/evaluate.h"

namespace fovea::cli {

namespace {

class Sharpness final : public Command {
 public:
  explicit Sharpness(CLI::App& app)
      : Command(app.add_subcommand(
            "sharpness", "Probe a run's final weights: top Hessian eigenvalues, Hessian trace and input-output "
                         "Jacobian norm of the mean loss over the first N training images; one JSON object on "
                         "stdout")) {
    add_run_option(sub_, run_)->required();
    add_data_option(sub_, data_, true);
    add_probe_options();
    add_device_options(sub_, device_);
    sub_->footer(
        "Prints one JSON object on stdout (logs go to stderr): lambda_max, top, trace, trace_se, jacobian_fro,\n"
        "iterations, converged, hvps, loss, images, method, seconds. BatchNorm runs on its running statistics,\n"
        "random layers are off. Hessian-vector products are central differences of float32 GPU gradients\n"
        "(docs/cli.md gives their measured error); jacobian_fro is sqrt(mean over images of\n"
        "||d logits / d standardised input||_F^2).");
  }

  int run(const std::vector<std::string>&) override {
    train::validate_sharpness_options(opts_);
    const train::RunInfo run = train::load_run(run_);
    auto ctx = open_context(device_);
    const train::SharpnessResult r = train::sharpness_of_run(*ctx, run, data_, opts_);
    std::fprintf(stderr,
                 "sharpness of %s on the first %u training images: %llu Hessian-vector products, %.1f s "
                 "(device: %s)\n",
                 run.dir.c_str(), opts_.images, (unsigned long long)r.hvps, r.seconds, ctx->info().name.c_str());
    std::fputs(train::sharpness_json(r, opts_).c_str(), stdout);
    return finish_validation(*ctx);
  }

 private:
  void add_probe_options() {
    sub_->add_option("--images", opts_.images, "The first N training images, in file order")->capture_default_str();
    sub_->add_option("--method", opts_.method,
                     "Top eigenvalue by lanczos (full reorthogonalisation) or power iteration")
        ->capture_default_str();
    sub_->add_option("--top", opts_.top, "Eigenvalues reported in 'top' (Lanczos)")->capture_default_str();
    sub_->add_option("--tolerance", opts_.tolerance,
                     "Stop when the top eigenvalue(s) moved by less than this, relative, in one iteration")
        ->capture_default_str();
    sub_->add_option("--max-iterations", opts_.max_iterations, "Cap on Lanczos steps or power iterations")
        ->capture_default_str();
    sub_->add_option("--trace-probes", opts_.trace_probes,
                     "Rademacher probes of Hutchinson's trace estimate (0 = no trace)")
        ->capture_default_str();
    sub_->add_option("--jacobian-probes", opts_.jacobian_probes,
                     "Rademacher probes per image of the Jacobian norm (0 = none)")
        ->capture_default_str();
    sub_->add_option("--seed", opts_.seed, "Seed of the start vector and the probes")->capture_default_str();
    sub_->add_option("--step", opts_.step,
                     "Finite-difference step of the Hessian-vector products, relative to max(1, |weights|)")
        ->capture_default_str();
  }

  train::SharpnessOptions opts_;
  std::string run_, data_;
  DeviceOptions device_;
};

}  // namespace

std::unique_ptr<Command> add_sharpness(CLI::App& app) { return std::make_unique<Sharpness>(app); }

}  // namespace fovea::cli
