// `fovea cv`: every train option, plus the protocol and its settings; a
// fresh model per split.
#include "cli/command.h"
#include "cli/run_args.h"
#include "cli/train_options.h"
#include "data/split.h"
#include "dist/comm.h"
#include "train/cv.h"
#include "util/error.h"

namespace fovea::cli {

namespace {

constexpr const char* kProtocolsFooter =
    "Protocols: holdout (one seeded --val-split holdout, the one `fovea train` uses), stratified-holdout\n"
    "(each class's share of the holdout within one image), repeated-random (--repeats holdouts),\n"
    "kfold and stratified-kfold (--folds folds, every fold's count of each class within one of\n"
    "n_c/K; --repeats reshuffles), leave-p-out (every p-subset, at most 1000 splits, or\n"
    "--max-splits sampled). --limit N keeps the first N images; each split trains a fresh model\n"
    "with the same options and seed into DIR/split-<i>. DIR/cv.jsonl holds a line per split\n"
    "(val_* of the epoch kept, test_*), then a summary line with the mean and sample std (n-1).\n\n";

class Cv final : public Command {
 public:
  explicit Cv(CLI::App& app)
      : Command(app.add_subcommand("cv", "Cross-validate: train a fresh model per split of the training images, "
                                         "report each split and the mean and sample std")) {
    add_train_options(sub_, opts_);
    add_cv_options(sub_, cv_, true);
    val_split_option_ = sub_->get_option("--val-split");
    val_split_option_->description(
        "holdout, stratified-holdout, repeated-random: the validation holdout, a count N or a fraction in (0, 1) "
        "(default 1/12)");
    sub_->get_option("--out")->description("cv directory: cv.jsonl and a run directory split-<i> per split "
                                           "(default runs/cv-<timestamp>)");
    sub_->get_option("--seed")->description(
        "Seed for the splits, initialisation (the same in every split) and shuffles");
    sub_->footer(kProtocolsFooter + sub_->get_footer());
  }

  std::vector<std::string> rewrite(const std::vector<std::string>& args) override {
    return expand_run_config(args, *sub_);
  }

  int run(const std::vector<std::string>& args) override {
    train::CvConfig c;
    c.cv = resolve_cv_options(cv_, val_split_option_);
    if (dist::Comm::launched_size() > 1)
      throw Error("fovea cv does not run data-parallel; start it without mpirun (fovea train does)");
    resolve_train_options(opts_, args, "cv-");
    c.train = opts_.cfg;
    auto ctx = open_device(opts_, true);
    train::cross_validate(*ctx, c);
    return finish_validation(*ctx);
  }

 private:
  TrainOptions opts_;
  CvOptions cv_;
  CLI::Option* val_split_option_ = nullptr;
};

}  // namespace

std::unique_ptr<Command> add_cv(CLI::App& app) { return std::make_unique<Cv>(app); }

}  // namespace fovea::cli
