// `fovea export`: a run's model as ONNX (opset 13, evaluation mode).
#include <cstdio>

#include "cli/command.h"
#include "io/onnx_export.h"
#include "train/evaluate.h"
#include "util/error.h"

namespace fovea::cli {

namespace {

class Export final : public Command {
 public:
  explicit Export(CLI::App& app)
      : Command(app.add_subcommand("export", "Export a run's model as ONNX (opset 13, evaluation mode)")) {
    add_run_option(sub_, run_)->required();
    sub_->add_option("--onnx", onnx_,
                     "Output .onnx file: input [batch, C, H, W] float32 already standardised, output logits "
                     "[batch, classes]")
        ->required();
  }

  int run(const std::vector<std::string>&) override {
    const train::RunInfo run = train::load_run(run_);
    if (run.feature_sigma > 0)
      throw Error("cannot export " + run_ + ": its conv2d outputs are smoothed (--feature-smoothing, final sigma " +
                  CLI::detail::to_string(run.feature_sigma) + "), which the ONNX graph does not include");
    const io::onnx::Model m = io::export_onnx({&run.spec, &run.weights, run.weights_path, run.mean, run.std, ""});
    io::onnx::write_model(onnx_, m);
    std::printf("wrote %s: %zu nodes, %zu initializers, opset %lld; input [batch, %u, %u, %u] standardised "
                "per channel ((pixel / 255 - mean) / std, see its metadata), output logits [batch, %u]\n",
                onnx_.c_str(), m.graph.nodes.size(), m.graph.initializers.size(), (long long)m.opset,
                run.spec.channels, run.spec.height, run.spec.width, run.spec.classes);
    return 0;
  }

 private:
  std::string run_, onnx_;
};

}  // namespace

std::unique_ptr<Command> add_export(CLI::App& app) { return std::make_unique<Export>(app); }

}  // namespace fovea::cli
