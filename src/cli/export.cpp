// `fovea export`: a run's model, or an ensemble of runs, as ONNX (opset 13,
// evaluation mode).
#include <cstdio>

#include "cli/command.h"
#include "io/onnx_ensemble.h"
#include "io/onnx_export.h"
#include "train/ensemble.h"
#include "train/evaluate.h"
#include "util/error.h"

namespace fovea::cli {

namespace {

class Export final : public Command {
 public:
  explicit Export(CLI::App& app)
      : Command(app.add_subcommand("export", "Export a run's model, or an ensemble of runs, as ONNX (opset 13, "
                                             "evaluation mode)")) {
    CLI::App* which = sub_->add_option_group("model", "The run (--run) or the ensemble (--runs) to export");
    add_run_option(which, run_);
    which
        ->add_option("--runs", runs_,
                     "Run directories, comma-separated: one graph whose output \"probabilities\" [batch, classes] "
                     "is the weighted mean of their softmax outputs (as fovea ensemble)")
        ->delimiter(',');
    which->require_option(1);
    sub_->add_option("--weights", weights_, "With --runs: one weight >= 0 per run (normalised; default: equal)")
        ->delimiter(',');
    sub_->add_option("--onnx", onnx_,
                     "Output .onnx file: input [batch, C, H, W] float32 already standardised, output logits "
                     "[batch, classes] (probabilities with --runs)")
        ->required();
  }

  int run(const std::vector<std::string>&) override {
    if (!runs_.empty()) return run_ensemble();
    if (!weights_.empty()) throw Error("--weights needs --runs (the members of an ensemble)");
    const train::RunInfo run = train::load_run(run_);
    exportable(run);
    const io::onnx::Model m = io::export_onnx(export_input(run));
    io::onnx::write_model(onnx_, m);
    std::printf("wrote %s: %zu nodes, %zu initializers, opset %lld; input [batch, %u, %u, %u] standardised "
                "per channel ((pixel / 255 - mean) / std, see its metadata), output logits [batch, %u]\n",
                onnx_.c_str(), m.graph.nodes.size(), m.graph.initializers.size(), (long long)m.opset,
                run.spec.channels, run.spec.height, run.spec.width, run.spec.classes);
    return 0;
  }

 private:
  static void exportable(const train::RunInfo& run) {
    if (run.feature_sigma > 0)
      throw Error("cannot export " + run.dir + ": its conv2d outputs are smoothed (--feature-smoothing, final sigma " +
                  CLI::detail::to_string(run.feature_sigma) + "), which the ONNX graph does not include");
  }
  static io::OnnxExportInput export_input(const train::RunInfo& run) {
    return {&run.spec, &run.weights, run.weights_path, run.mean, run.std, ""};
  }

  int run_ensemble() {
    const std::vector<train::RunInfo> runs = train::load_ensemble(runs_);
    const std::vector<double> weights = train::ensemble_weights(weights_, runs.size());
    std::vector<io::OnnxExportInput> members;
    for (const train::RunInfo& r : runs) {
      exportable(r);
      members.push_back(export_input(r));
    }
    const io::onnx::Model m = io::export_onnx_ensemble(members, weights, runs_);
    io::onnx::write_model(onnx_, m);
    const nn::ModelSpec& spec = runs[0].spec;
    std::printf("wrote %s: an ensemble of %zu runs, %zu nodes, %zu initializers, opset %lld; input [batch, %u, %u, "
                "%u] standardised as the first run's (see its metadata), output probabilities [batch, %u]\n",
                onnx_.c_str(), runs.size(), m.graph.nodes.size(), m.graph.initializers.size(), (long long)m.opset,
                spec.channels, spec.height, spec.width, spec.classes);
    return 0;
  }

  std::string run_, onnx_;
  std::vector<std::string> runs_;
  std::vector<double> weights_;
};

}  // namespace

std::unique_ptr<Command> add_export(CLI::App& app) { return std::make_unique<Export>(app); }

}  // namespace fovea::cli
