// `fovea train`: one training run (or, under an MPI launcher, one rank of a
// data-parallel run), and `fovea train --resume DIR`.
#include <exception>
#include <string>

#include "cli/command.h"
#include "cli/run_args.h"
#include "cli/train_options.h"
#include "dist/comm.h"
#include "train/trainer.h"
#include "util/error.h"

namespace fovea::cli {

namespace {

class Train final : public Command {
 public:
  explicit Train(CLI::App& app)
      : Command(app.add_subcommand(
            "train", "Train a model on IDX files (Fashion-MNIST by default), class folders of images or a CSV manifest")) {
    add_train_options(sub_, opts_);
  }

  // --resume brings back the run's settings, --config its file's options;
  // the checkpoint records the settings (a cv split's records none, so
  // --resume cannot rebuild one).
  std::vector<std::string> rewrite(const std::vector<std::string>& args) override {
    std::vector<std::string> out = expand_run_config(expand_resume(args), *sub_);
    opts_.cfg.args = run_settings(out);
    return out;
  }

  int run(const std::vector<std::string>& args) override {
    dist::Comm comm;  // MPI when an MPI launcher started this process
    try {
      resolve_train_options(opts_, args, "");
      join_ranks(opts_, comm);
      if (!opts_.cfg.print_plan) opts_.cfg.on_run_dir = print_run_line;
      auto ctx = open_device(opts_, false);
      train::train(*ctx, opts_.cfg);
      return finish_validation(*ctx);
    } catch (const Error& e) {
      // One rank's failure stops them all (MPI_Abort), never a hang.
      if (comm.distributed()) comm.abort(e.what());
      throw;
    } catch (const std::exception& e) {
      if (comm.distributed()) comm.abort(std::string("unexpected error: ") + e.what());
      throw;
    }
  }

 private:
  TrainOptions opts_;
};

}  // namespace

std::unique_ptr<Command> add_train(CLI::App& app) { return std::make_unique<Train>(app); }

}  // namespace fovea::cli
