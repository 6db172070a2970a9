// The options `fovea train` and `fovea cv` share: how they are declared
// on a CLI11 subcommand, completed after parsing, and turned into a device
// (and, under mpirun, into one rank of a data-parallel run).
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "data/split.h"
#include "dist/comm.h"
#include "gpu/context.h"
#include "optim/optimizer.h"
#include "train/trainer.h"

namespace fovea::cli {

// One optimizer hyperparameter option and its field in ops::OptimConfig.
struct OptimOption {
  CLI::Option* option;
  double fovea::ops::OptimConfig::*field;
};

// True when the user gave option `o`; an error when `reads` (the options
// that `what`, say "--optimizer sgd", reads) does not list it, rather than
// silently ignoring it.
bool given_and_read(const CLI::Option* o, const std::vector<std::string>& reads, const std::string& what);

// --augment's help text (`fovea train`, `fovea cv` and `fovea augment`).
extern const char* const kAugmentHelp;

// The options of `fovea train`, also every option of `fovea cv`: each
// subcommand binds its own TrainOptions (CLI11 keeps pointers into it, so it
// must not move after add_train_options).
struct TrainOptions {
  fovea::train::TrainConfig cfg;
  DeviceOptions dev;
  std::string val_split;
  bool no_progress = false;
  // Optimizer options: values the user gave land in `given`; resolve_optimizer
  // starts from the optimizer's defaults and takes only those (->count()).
  fovea::ops::OptimConfig given;
  std::string optimizer = "sgd";
  std::vector<OptimOption> optim_options;
  std::string shuffle = "on";
  std::string resize = "crop";
  bool no_cache = false;
  std::string resume_dir;  // --resume DIR
  CLI::Option *lr = nullptr, *centered = nullptr, *clip_norm = nullptr, *clip_value = nullptr;
  double label_smoothing = 0;  // --label-smoothing, when given (label_smoothing_opt->count())
  CLI::Option* label_smoothing_opt = nullptr;
};

void add_train_options(CLI::App* train, TrainOptions& o);

// The default run directory: runs/<prefix><timestamp>.
std::string timestamp_dir(const std::string& prefix);

// The protocol options of `fovea cv`, also `fovea search --protocol`'s.
struct CvOptions {
  std::string protocol;
  uint32_t folds = 5, repeats = 1, p = 1, max_splits = 0;
  CLI::Option *protocol_option = nullptr, *folds_option = nullptr, *repeats_option = nullptr,
              *p_option = nullptr, *max_splits_option = nullptr;
};

// Declares --protocol (required when `required`), --folds, --repeats, --p
// and --max-splits in the group "Cross-validation".
void add_cv_options(CLI::App* sub, CvOptions& o, bool required);

// The protocol and its settings; an option it does not read (--val-split
// among them) is an error. The validation size comes from --val-split later.
fovea::data::CvSettings resolve_cv_options(const CvOptions& o, const CLI::Option* val_split);

// Completes o.cfg after parsing: the optimizer and its defaults, checks of
// the penalty options, the default run directory (runs/<dir_prefix><timestamp>),
// the command line as given (`argv`).
void resolve_train_options(TrainOptions& o, const std::vector<std::string>& argv, const std::string& dir_prefix);

// `fovea train` as one rank of a data-parallel run (mpirun): every rank
// takes rank 0's run directory, ranks above 0 print nothing on stdout and
// draw no progress bar, and an unnamed device is chosen by local rank.
void join_ranks(TrainOptions& o, fovea::dist::Comm& comm);

// The device the options name, reported on stdout, after the options are
// checked; with print_run also the run directory's line (fovea cv and
// search, whose directory is made at once). fovea train prints it once the
// run has made its directory instead (TrainConfig::on_run_dir =
// print_run_line).
std::unique_ptr<fovea::gpu::Context> open_device(const TrainOptions& o, bool print_run);
void print_run_line(const std::string& dir);  // "run: DIR" on stdout

}  // namespace fovea::cli
