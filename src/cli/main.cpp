// The `fovea` command: `fovea devices`, `fovea train`, `fovea cv`, `fovea blur`, `fovea augment`,
// `fovea report`, `fovea eval`, `fovea export`, `fovea sharpness`, `fovea bench`. Every user error is
// one line on stderr and a non-zero exit: 2 for a bad command line, 1 for a
// bad file, value or a failure while running, 3 when --validate saw messages.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <exception>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "data/idx.h"
#include "dist/comm.h"
#include "gpu/context.h"
#include "io/atomic_file.h"
#include "io/npy.h"
#include "io/onnx_export.h"
#include "io/png.h"
#include "train/bench.h"
#include "train/checkpoint.h"
#include "train/cv.h"
#include "train/evaluate.h"
#include "train/samples.h"
#include "train/sharpness.h"
#include "train/trainer.h"
#include "util/error.h"

namespace {

// runs/<prefix><timestamp>
std::string timestamp_dir(const std::string& prefix) {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  return "runs/" + prefix + buf;
}

std::string join_args(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

// `fovea train --config RUN.json` (or `fovea cv --config ...`): a JSON
// object of long option names (without the dashes) and values, e.g.
// {"model": "...", "lr": 0.05, "lr-schedule": "cosine", "test-blur": [1, 2],
// "feature-smoothing": true}. Its entries become command-line arguments
// placed before the user's own, skipping options the command line gives, so
// the command line overrides the file. `args` is the whole command line,
// args[1] the subcommand `sub`. Returns the new argument list; throws
// fovea::Error naming the file and key on a bad file or an unknown option.
std::vector<std::string> expand_run_config(const std::vector<std::string>& args, const CLI::App& sub) {
  auto it = std::find(args.begin(), args.end(), "--config");
  if (it == args.end() || it + 1 == args.end()) return args;
  const std::string path = *(it + 1);
  std::ifstream f(path);
  if (!f) throw fovea::Error("cannot read run config " + path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw fovea::Error("run config " + path + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw fovea::Error("run config " + path + ": expected a JSON object of option names and values");
  std::vector<std::string> out(args.begin(), args.begin() + 2);  // the program and the subcommand
  auto given = [&](const std::string& name) {
    return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
      return a == "--" + name || a.rfind("--" + name + "=", 0) == 0;
    });
  };
  for (const auto& [key, value] : j.items()) {
    const CLI::Option* opt = sub.get_option_no_throw("--" + key);
    if (!opt || key == "config" || key == "help")
      throw fovea::Error("run config " + path + ": unknown option '" + key + "' (see fovea " + sub.get_name() +
                         " --help)");
    if (given(key)) continue;
    auto text = [&](const nlohmann::json& v) -> std::string {
      if (v.is_string()) return v.get<std::string>();
      if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
      if (v.is_number()) {
        std::ostringstream o;
        o.precision(17);
        o << v.get<double>();
        return o.str();
      }
      throw fovea::Error("run config " + path + ": option '" + key + "' has a value of the wrong kind");
    };
    if (value.is_boolean()) {
      if (opt->get_expected_min() != 0)
        throw fovea::Error("run config " + path + ": option '" + key + "' takes a value, not true/false");
      if (value.get<bool>()) out.push_back("--" + key);
    } else if (value.is_array()) {
      std::string joined;
      for (const auto& v : value) joined += (joined.empty() ? "" : ",") + text(v);
      out.push_back("--" + key);
      out.push_back(joined);
    } else {
      out.push_back("--" + key);
      out.push_back(text(value));
    }
  }
  for (auto a = args.begin() + 2; a != args.end(); ++a) {
    if (a == it) {
      ++a;  // drop --config FILE
      continue;
    }
    out.push_back(*a);
  }
  return out;
}

// Options that change how a run is watched, not what it computes: a resumed
// run may set them afresh, and a checkpoint's settings leave them out.
const std::vector<std::pair<std::string, bool>> kRuntimeOptions = {
    {"--device", true}, {"--validate", false}, {"--no-progress", false}, {"--profile", false}};

// Whether args[i] is option `name` ("--name" or "--name=value"), and how many
// arguments it spans.
size_t option_span(const std::vector<std::string>& args, size_t i, const std::string& name, bool takes_value) {
  if (args[i] == name) return takes_value ? 2 : 1;
  if (takes_value && args[i].rfind(name + "=", 0) == 0) return 1;
  return 0;
}

// The settings a checkpoint records: the arguments after the subcommand
// (args[1]; --config expanded) without --out, --resume and the runtime options.
std::vector<std::string> run_settings(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 2; i < args.size();) {
    size_t skip = option_span(args, i, "--out", true) + option_span(args, i, "--resume", true);
    for (const auto& [name, value] : kRuntimeOptions) skip += option_span(args, i, name, value);
    if (skip) {
      i += skip;
      continue;
    }
    out.push_back(args[i++]);
  }
  return out;
}

// `fovea train --resume DIR`: the run's own settings from DIR's checkpoint,
// plus --out DIR and the runtime options the command line gives; any other
// option is an error (the run must continue as it started).
std::vector<std::string> expand_resume(const std::vector<std::string>& args) {
  auto it = args.begin() + 1;  // "train"
  size_t at = 0;
  std::string dir;
  for (size_t i = 0; i < args.size(); ++i)
    if (option_span(args, i, "--resume", true)) {
      at = i;
      dir = args[i] == "--resume" ? (i + 1 < args.size() ? args[i + 1] : "") : args[i].substr(9);
    }
  if (at == 0) return args;
  if (dir.empty()) throw fovea::Error("--resume needs the run directory to continue");
  std::vector<std::string> out(args.begin(), it + 1);
  for (const std::string& a : fovea::train::checkpoint_args(dir)) out.push_back(a);
  for (size_t i = size_t(it - args.begin()) + 1; i < args.size();) {
    size_t n = option_span(args, i, "--resume", true);
    for (const auto& [name, value] : kRuntimeOptions) n += option_span(args, i, name, value);
    if (n == 0)
      throw fovea::Error("--resume continues " + dir + " with its own settings; '" + args[i] +
                         "' cannot be given with it (only --device, --validate, --no-progress, --profile)");
    if (option_span(args, i, "--resume", true) == 0) out.insert(out.end(), args.begin() + i, args.begin() + i + n);
    i += n;
  }
  for (const std::string& a : {std::string("--out"), dir, std::string("--resume"), dir}) out.push_back(a);
  return out;
}

int finish_validation(fovea::gpu::Context& ctx) {
  if (!ctx.validating()) return 0;
  uint64_t n = ctx.validation().count();
  if (n == 0) {
    std::fprintf(stderr, "validation: no messages\n");
    return 0;
  }
  std::fprintf(stderr, "fovea: the validation layer reported %llu message(s)\n", (unsigned long long)n);
  return 3;
}

// One optimizer hyperparameter option and its field in ops::OptimConfig.
struct OptimOption {
  CLI::Option* option;
  double fovea::ops::OptimConfig::*field;
};

// True when the user gave option `o`; an error when `reads` (the options
// that `what`, say "--optimizer sgd", reads) does not list it, rather than
// silently ignoring it.
bool given_and_read(const CLI::Option* o, const std::vector<std::string>& reads, const std::string& what) {
  if (o->count() == 0) return false;
  if (std::find(reads.begin(), reads.end(), o->get_name()) == reads.end()) {
    std::string list;
    for (const std::string& r : reads) list += (list.empty() ? "" : ", ") + r;
    throw fovea::Error(o->get_name() + " does not apply to " + what + " (it reads " + list + ")");
  }
  return true;
}

// The optimizer's defaults with the options the user gave.
fovea::ops::OptimConfig resolve_optimizer(const std::string& name, const fovea::ops::OptimConfig& given,
                                          const std::vector<OptimOption>& options, CLI::Option* centered) {
  const fovea::ops::Optimizer kind = fovea::ops::parse_optimizer(name);
  fovea::ops::OptimConfig c = fovea::ops::optimizer_defaults(kind);
  const std::vector<std::string> reads = fovea::ops::optimizer_options(kind);
  auto check = [&](CLI::Option* o) { return given_and_read(o, reads, "--optimizer " + name); };
  for (const OptimOption& o : options)
    if (check(o.option)) c.*o.field = given.*o.field;
  if (check(centered)) c.centered = given.centered;
  return c;
}

const char* kAugmentHelp =
    "Augment training batches on the GPU (after standardisation, before the blur; never in "
    "evaluation), seeded by --seed and the step: comma-separated items flip|hflip[:P], "
    "vflip[:P] (P default 0.5), crop:PAD (black padding), rotate:DEG, translate:FRAC, "
    "scale:LO-HI|scale:S, shear:DEG (one bilinear warp, black outside), brightness:B, "
    "contrast:C (factors in [1-B, 1+B]), noise:STD ([0, 1] pixel units), cutout:SIZE, "
    "erase[:P] (RandomErasing, P default 0.5), mixup:ALPHA, cutmix:ALPHA (soft targets "
    "through the loss; train_acc counts the heavier label)";

// The options of `fovea train`, also every option of `fovea cv`: each
// subcommand binds its own TrainOptions (CLI11 keeps pointers into it, so it
// must not move after add_train_options).
struct TrainOptions {
  fovea::train::TrainConfig cfg;
  std::string device, val_split;
  bool validate = false;
  bool no_progress = false;
  // Optimizer options: values the user gave land in `given`; resolve_optimizer
  // starts from the optimizer's defaults and takes only those (->count()).
  fovea::ops::OptimConfig given;
  std::string optimizer = "sgd";
  std::vector<OptimOption> optim_options;
  std::string shuffle = "on";
  std::string resume_dir;  // --resume DIR
  CLI::Option *lr = nullptr, *centered = nullptr, *clip_norm = nullptr, *clip_value = nullptr;
};

void add_train_options(CLI::App* train, TrainOptions& o) {
  auto& cfg = o.cfg;
  auto& given = o.given;
  train->add_option("--model", cfg.model_path, "Model spec JSON (e.g. assets/models/mlp.json)")->required();
  train->add_option("--data", cfg.data_dir, "Directory with the IDX files (raw or .gz)")->capture_default_str();
  train->add_option("--epochs", cfg.epochs, "Epochs to train")->capture_default_str();
  train->add_option("--batch", cfg.batch, "Batch size")->capture_default_str();
  o.lr = train->add_option("--lr", cfg.lr, "Learning rate (default: the optimizer's, in the table below)");
  const char* optim_group = "Optimizer (torch.optim's rules; defaults in the table below)";
  train->add_option("--optimizer", o.optimizer,
                    "sgd, nesterov, adagrad, rmsprop, adadelta, adam, adamw, adamax, nadam or amsgrad "
                    "(heavy-ball momentum is sgd with --momentum)")
      ->capture_default_str()
      ->group(optim_group);
  auto optim_option = [&](const char* name, double fovea::ops::OptimConfig::*field, const char* help) {
    o.optim_options.push_back({train->add_option(name, given.*field, help)->group(optim_group), field});
  };
  optim_option("--momentum", &fovea::ops::OptimConfig::momentum, "sgd, nesterov: momentum (dampening 0); rmsprop: momentum");
  optim_option("--weight-decay", &fovea::ops::OptimConfig::weight_decay,
               "L2 penalty added to the gradient; adamw: decoupled, p *= 1 - lr weight_decay");
  optim_option("--beta1", &fovea::ops::OptimConfig::beta1, "adam, adamw, amsgrad, adamax, nadam: decay of the first moment");
  optim_option("--beta2", &fovea::ops::OptimConfig::beta2, "adam, adamw, amsgrad, adamax, nadam: decay of the second moment (adamax: of the infinity norm)");
  optim_option("--eps", &fovea::ops::OptimConfig::eps, "Term added to the denominator (every optimizer but sgd and nesterov)");
  optim_option("--alpha", &fovea::ops::OptimConfig::alpha, "rmsprop: smoothing constant of the squared gradient");
  optim_option("--rho", &fovea::ops::OptimConfig::rho, "adadelta: decay of the running averages");
  optim_option("--momentum-decay", &fovea::ops::OptimConfig::momentum_decay, "nadam: momentum decay psi");
  o.centered = train->add_flag("--centered", given.centered,
                                          "rmsprop: normalise by the estimated variance of the gradient")
                              ->group(optim_group);
  train->footer(fovea::ops::optimizer_defaults_table() +
                "\nPenalties: loss += l1 sum|w| + (l2 / 2) sum w^2 over the weights of dense, conv2d and\n"
                "conv_transpose2d layers (a layer's \"l1\"/\"l2\" in the model spec overrides --l1/--l2 for it;\n"
                "biases and normalisation parameters only with --penalize-biases). The gradient\n"
                "l1 sign(w) + l2 w is added on the GPU after the backward pass; then --clip-value,\n"
                "then --clip-norm, then the optimizer step. train_loss stays the data loss;\n"
                "metrics.jsonl's penalty is the penalty of each epoch's final weights.\n");
  const char* reg_group = "Weight penalties and gradient clipping";
  auto& reg = cfg.regularize;
  train->add_option("--l1", reg.l1, "L1 penalty on weights: loss += l1 sum|w| (0 = none)")
      ->capture_default_str()
      ->group(reg_group);
  train->add_option("--l2", reg.l2,
                    "L2 penalty on weights: loss += (l2 / 2) sum w^2 (a loss term, unlike --weight-decay)")
      ->capture_default_str()
      ->group(reg_group);
  train->add_flag("--penalize-biases", reg.penalize_biases,
                  "Also penalise biases and normalisation parameters")
      ->group(reg_group);
  o.clip_norm =
      train->add_option("--clip-norm", reg.clip_norm,
                        "Scale all gradients by min(1, C / (norm + 1e-6)), norm their global L2 norm "
                        "(torch.nn.utils.clip_grad_norm_)")
          ->group(reg_group);
  o.clip_value =
      train->add_option("--clip-value", reg.clip_value,
                        "Clamp every gradient to [-V, V] (torch.nn.utils.clip_grad_value_)")
          ->group(reg_group);
  train->add_option("--seed", cfg.seed, "Seed for initialisation, holdout, shuffles and dropout masks")->capture_default_str();
  train->add_option("--limit", cfg.limit, "Use only the first N training images (0 = all)")->capture_default_str();
  train->add_option("--val-split", o.val_split, "Validation holdout: a count N or a fraction in [0, 1) (default 1/12; 0 = none)");
  train->add_option("--out", cfg.out_dir, "Run directory (default runs/<timestamp>)");
  train->add_option("--init", cfg.init, "Start from these weights (a safetensors file, e.g. a run's model.safetensors)");
  train->add_option("--shuffle", o.shuffle, "on: a seeded shuffle every epoch; off: file order")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  train->add_option("--device", o.device, "Device index or name substring (also FOVEA_DEVICE)");
  train->add_flag("--validate", o.validate, "Enable the Khronos validation layer with synchronisation validation (also FOVEA_VALIDATION=1)");
  train->add_flag("--profile", cfg.profile, "Print GPU time per op per step");
  train->add_flag("--no-progress", o.no_progress, "No progress bar, even on a terminal");
  train->add_flag("--sync-bn", cfg.sync_bn,
                  "Data-parallel runs (mpirun -np N): synchronise BatchNorm statistics across the ranks "
                  "(not implemented yet: refused with N > 1; without it each rank normalises by its shard's)");
  train->add_option("--resume", o.resume_dir,
                    "Continue the run in DIR from its last checkpoint, with its own settings (only --device, "
                    "--validate, --no-progress and --profile may be given with it)");
  train->add_option("--checkpoint-every", cfg.checkpoint_every,
                    "Write DIR/checkpoint.safetensors (weights, optimizer state, counters, settings) every N "
                    "epochs, besides at the start and the end")
      ->capture_default_str();
  train->add_option("--sharpness-every", cfg.sharpness_every,
                    "After every E epochs probe the top Hessian eigenvalue (fovea sharpness, Lanczos) and log "
                    "'sharpness' and 'two_over_lr' (2 / lr) in metrics.jsonl (0 = off)")
      ->capture_default_str();
  train->add_option("--sharpness-images", cfg.sharpness_images,
                    "Images the sharpness probe uses: the first N training images in file order")
      ->capture_default_str();
  train->add_flag("--print-plan", cfg.print_plan,
                  "Print the recorded training and evaluation steps (each op, its buffers and their sizes) and the memory, then exit");
  auto& lrs = cfg.lr_schedule;
  const char* lr_group = "Learning-rate schedule";
  train->add_option("--lr-schedule", lrs.schedule,
                    "constant, step, multistep, exponential, inverse-time, inverse-sqrt, cosine or plateau "
                    "(stepped per epoch, as torch.optim.lr_scheduler)")
      ->capture_default_str()
      ->group(lr_group);
  train->add_option("--lr-step-size", lrs.step_size, "step: epochs between decays")->capture_default_str()->group(lr_group);
  train->add_option("--lr-gamma", lrs.gamma,
                    "Decay factor (default 0.1 for step, multistep and plateau; 0.9 for exponential)")
      ->group(lr_group);
  train->add_option("--lr-milestones", lrs.milestones, "multistep: epochs at which the rate is multiplied by gamma (comma-separated)")
      ->delimiter(',')
      ->group(lr_group);
  train->add_option("--lr-decay", lrs.decay, "inverse-time: lr/(1 + k e); inverse-sqrt: lr/sqrt(1 + k e)")
      ->capture_default_str()
      ->group(lr_group);
  train->add_option("--lr-min", lrs.lr_min, "cosine: the floor of the curve; plateau: the smallest rate")
      ->capture_default_str()
      ->group(lr_group);
  train->add_option("--lr-restart", lrs.restart, "cosine: restart every T0 epochs (0 = no restarts; SGDR)")
      ->capture_default_str()
      ->group(lr_group);
  train->add_option("--lr-restart-mult", lrs.restart_mult, "cosine: each cycle this many times longer than the last")
      ->capture_default_str()
      ->group(lr_group);
  train->add_option("--warmup-epochs", lrs.warmup_epochs, "Warm-up epochs before the schedule (per step; may be fractional)")
      ->capture_default_str()
      ->group(lr_group);
  train->add_option("--warmup", lrs.warmup, "Warm-up shape: linear or exponential")->capture_default_str()->group(lr_group);
  train->add_option("--warmup-start", lrs.warmup_start, "Warm-up: the first step's fraction of the rate")
      ->capture_default_str()
      ->group(lr_group);
  train->add_option("--plateau-patience", lrs.patience, "plateau: epochs without improvement before a decay")
      ->capture_default_str()
      ->group(lr_group);
  train->add_option("--plateau-threshold", lrs.threshold, "plateau: relative improvement of the validation loss that counts")
      ->capture_default_str()
      ->group(lr_group);
  const char* stop_group = "Stopping";
  train->add_option("--early-stop", cfg.early_stop,
                    "Stop after this many epochs without improvement of --early-stop-metric and keep the best epoch's weights (0 = off)")
      ->capture_default_str()
      ->group(stop_group);
  train->add_option("--early-stop-metric", cfg.early_stop_metric, "val_loss or val_acc")
      ->capture_default_str()
      ->group(stop_group);
  train->add_option("--early-stop-delta", cfg.early_stop_delta, "Smallest change that counts as an improvement")
      ->capture_default_str()
      ->group(stop_group);
  train->add_option("--target-acc", cfg.target_acc, "Stop once the validation accuracy reaches this fraction (0 = off)")
      ->capture_default_str()
      ->group(stop_group);
  train->add_option("--divergence-factor", cfg.divergence_factor,
                    "Stop as diverged when an epoch's training loss exceeds this many times the starting loss (the initial weights on the first 1024 images; NaN or Inf always stops)")
      ->capture_default_str()
      ->group(stop_group);
  train->add_option("--sharpen", cfg.sharpen.schedule,
                    "Progressive sharpening: none, constant, step, linear, cosine, exponential, or "
                    "list:S1,S2,...@E (sigmas held E epochs each)")
      ->capture_default_str()
      ->group("Progressive sharpening");
  train->add_option("--sigma0", cfg.sharpen.sigma0, "Starting blur sigma, pixels")
      ->capture_default_str()
      ->group("Progressive sharpening");
  train->add_option("--sharpen-epochs", cfg.sharpen.sharpen_epochs,
                    "Epochs until sigma reaches 0 (default: 3/4 of --epochs rounded down; the whole run for constant)")
      ->group("Progressive sharpening");
  train->add_option("--levels", cfg.sharpen.levels, "Blur levels of the step schedule")
      ->capture_default_str()
      ->group("Progressive sharpening");
  train->add_option("--sharpen-replay", cfg.sharpen_replay,
                    "Fraction of each batch trained on the original images while blurring")
      ->capture_default_str()
      ->group("Progressive sharpening");
  train->add_flag("--feature-smoothing", cfg.feature_smoothing,
                  "Also smooth every conv2d output with a 3x3 Gaussian of the schedule's sigma (Curriculum by Smoothing)")
      ->group("Progressive sharpening");
  train->add_option("--augment", cfg.augment, kAugmentHelp)->group("Augmentation");
  train->add_option("--test-blur", cfg.test_blur,
                    "Also evaluate the test set blurred by each sigma (comma-separated, pixels)")
      ->delimiter(',')
      ->group("Robustness");
  train->add_option("--test-noise", cfg.test_noise,
                    "Also evaluate the test set with Gaussian noise of each std (comma-separated, [0, 1] pixel units, fixed seed)")
      ->delimiter(',')
      ->group("Robustness");

  train->add_option("--config", "A run config: a JSON object of long option names and values, e.g. "
                                "{\"lr\": 0.05, \"sharpen\": \"step\"}; options on the command line override it");
}

// Completes o.cfg after parsing: the optimizer and its defaults, checks of
// the penalty options, the default run directory (runs/<dir_prefix><timestamp>),
// the command line.
void resolve_train_options(TrainOptions& o, int argc, char** argv, const std::string& dir_prefix) {
  auto& cfg = o.cfg;
  const auto& reg = cfg.regularize;
  cfg.optim = resolve_optimizer(o.optimizer, o.given, o.optim_options, o.centered);
  // 0 means "off" inside; given on the command line it must be positive.
  for (auto [opt, v] : {std::pair{o.clip_norm, reg.clip_norm}, std::pair{o.clip_value, reg.clip_value}})
    if (opt->count() > 0 && !(v > 0))
      throw fovea::Error(opt->get_name() + " must be a positive number, got " + CLI::detail::to_string(v));
  fovea::ops::validate_regularization(reg);
  if (o.lr->count() == 0) cfg.lr = fovea::ops::default_lr(cfg.optim.kind);
  if (cfg.out_dir.empty()) cfg.out_dir = timestamp_dir(dir_prefix);
  cfg.val_split = o.val_split;
  cfg.shuffle = o.shuffle == "on";
  cfg.progress = !o.no_progress;
  cfg.command_line = join_args(argc, argv);
  cfg.resume = !o.resume_dir.empty();
  if (cfg.resume && dir_prefix == "cv-") throw fovea::Error("--resume continues a fovea train run, not a cross-validation");
  if (cfg.resume && cfg.print_plan) throw fovea::Error("--print-plan does not go with --resume");
}

// A data-parallel rank's device when none is named: with several devices
// of the best kind on its machine, the local_rank-th of them (round robin);
// else the best one, shared by the machine's ranks.
std::string rank_device(int local_rank) {
  const auto list = fovea::gpu::list_devices();
  if (list.empty()) return "";
  const size_t best = fovea::gpu::best_device(list);
  std::vector<uint32_t> same;
  for (const auto& d : list)
    if (d.type == list[best].type) same.push_back(d.index);
  return same.size() > 1 ? std::to_string(same[size_t(local_rank) % same.size()]) : std::to_string(list[best].index);
}

// `fovea train` as one rank of a data-parallel run (mpirun): every rank
// takes rank 0's run directory, ranks above 0 print nothing on stdout and
// draw no progress bar, and an unnamed device is chosen by local rank.
void join_ranks(TrainOptions& o, fovea::dist::Comm& comm) {
  if (!comm.distributed()) return;
  comm.broadcast(o.cfg.out_dir);
  o.cfg.comm = &comm;
  if (comm.rank() != 0) {
    o.cfg.progress = false;
    if (!std::freopen("/dev/null", "w", stdout)) throw fovea::Error("cannot silence stdout of rank " + std::to_string(comm.rank()));
  }
  const char* env = std::getenv("FOVEA_DEVICE");
  if (o.device.empty() && !(env && *env)) o.device = rank_device(comm.local_rank());
}

// The device the options name, reported on stdout with the run directory.
std::unique_ptr<fovea::gpu::Context> open_device(const TrainOptions& o) {
  auto ctx = fovea::gpu::Context::create({o.device, o.validate});
  std::printf("device: %s (%s)\n", ctx->info().name.c_str(), fovea::gpu::device_type_name(ctx->info().type));
  if (!o.cfg.print_plan) std::printf("run: %s\n", o.cfg.out_dir.c_str());
  std::fflush(stdout);
  return ctx;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fovea: train neural networks with Vulkan compute (progressive sharpening)", "fovea"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");

  auto* devices = app.add_subcommand("devices", "List Vulkan devices (duplicates removed), best marked, with the limits and features kernels are chosen from (FOVEA_LIMITS=vulkan11-min clamps them; FOVEA_FAST=0 forces the portable kernels; see docs/portability.md)");

  TrainOptions topts;
  auto* train = app.add_subcommand("train", "Train a model on an IDX data set (Fashion-MNIST by default)");
  add_train_options(train, topts);

  // `fovea cv`: every train option, plus the protocol and its settings.
  TrainOptions copts;
  auto* cv = app.add_subcommand("cv", "Cross-validate: train a fresh model per split of the training images, "
                                      "report each split and the mean and sample std");
  add_train_options(cv, copts);
  std::string protocol;
  uint32_t folds = 5, repeats = 1, p = 1, max_splits = 0;
  const char* cv_group = "Cross-validation";
  cv->add_option("--protocol", protocol,
                 "holdout, stratified-holdout, repeated-random (sub-sampling), kfold, stratified-kfold or leave-p-out")
      ->required()
      ->group(cv_group);
  auto cv_option = [&](const char* name, uint32_t& value, const char* help) {
    return cv->add_option(name, value, help)->capture_default_str()->group(cv_group);
  };
  auto* folds_option = cv_option("--folds", folds, "kfold, stratified-kfold: the number of folds K (2 <= K <= images)");
  auto* repeats_option = cv_option("--repeats", repeats,
                                   "repeated-random, stratified-holdout: holdouts drawn; kfold, stratified-kfold: "
                                   "reshuffled k-fold repeats (repeated k-fold)");
  auto* p_option = cv_option("--p", p, "leave-p-out: images left out per split (1 = leave-one-out)");
  auto* max_splits_option = cv_option(
      "--max-splits", max_splits,
      "leave-p-out: train on a seeded sample of this many distinct p-subsets, at most 1000 (0 = every subset, "
      "refused past 1000)");
  CLI::Option* cv_val_split_option = cv->get_option("--val-split");
  cv_val_split_option->description(
      "holdout, stratified-holdout, repeated-random: the validation holdout, a count N or a fraction in (0, 1) "
      "(default 1/12)");
  cv->get_option("--out")->description("cv directory: cv.jsonl and a run directory split-<i> per split "
                                       "(default runs/cv-<timestamp>)");
  cv->get_option("--seed")->description("Seed for the splits, initialisation (the same in every split) and shuffles");
  cv->footer("Protocols: holdout (one seeded --val-split holdout, the one `fovea train` uses), stratified-holdout\n"
             "(each class's share of the holdout within one image), repeated-random (--repeats holdouts),\n"
             "kfold and stratified-kfold (--folds folds, every fold's count of each class within one of\n"
             "n_c/K; --repeats reshuffles), leave-p-out (every p-subset, at most 1000 splits, or\n"
             "--max-splits sampled). --limit N keeps the first N images; each split trains a fresh model\n"
             "with the same options and seed into DIR/split-<i>. DIR/cv.jsonl holds a line per split\n"
             "(val_* of the epoch kept, test_*), then a summary line with the mean and sample std (n-1).\n\n" +
             train->get_footer());

  fovea::train::BlurGridConfig grid;
  std::string blur_data = "/usr/share/datasets/fashion-mnist", blur_out, blur_split = "train", blur_device;
  auto* blur = app.add_subcommand("blur", "Write a PNG grid of sample images at each blur sigma (a row per sigma)");
  blur->add_option("--data", blur_data, "Directory with the IDX files (raw or .gz)")->capture_default_str();
  blur->add_option("--sigma", grid.sigmas, "Blur sigmas in pixels, comma-separated (a row each)")
      ->delimiter(',')
      ->capture_default_str();
  blur->add_option("--count", grid.count, "Images per row")->capture_default_str();
  blur->add_option("--first", grid.first, "Index of the first image shown")->capture_default_str();
  blur->add_option("--split", blur_split, "Which file: train or test")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  blur->add_flag("--pyramid", grid.pyramid, "Row k also decimated by 2, k times (shown enlarged)");
  blur->add_option("--out", blur_out, "Output PNG file")->required();
  blur->add_option("--device", blur_device, "Device index or name substring (also FOVEA_DEVICE)");

  std::string report_dir, report_device;
  auto* report = app.add_subcommand("report", "Write DIR/report.html again from a run directory's files "
                                              "(train writes it at the end of every run)");
  report->add_option("DIR", report_dir, "Run directory (metrics.jsonl, summary.json, eval-test.json)")->required();
  report->add_option("--device", report_device, "Device for the sample grid: index or name substring (also FOVEA_DEVICE)");

  fovea::train::AugmentGridConfig aug_grid;
  std::string aug_data = "/usr/share/datasets/fashion-mnist", aug_list, aug_out, aug_device;
  auto* augment = app.add_subcommand(
      "augment", "Write a PNG grid: a row of training images, then rows of them augmented at steps 0, 1, ...");
  augment->add_option("--data", aug_data, "Directory with the IDX files (raw or .gz)")->capture_default_str();
  augment->add_option("--augment", aug_list, kAugmentHelp)->required();
  augment->add_option("--count", aug_grid.count, "Images per row (one batch)")->capture_default_str();
  augment->add_option("--first", aug_grid.first, "Index of the first training image shown")->capture_default_str();
  augment->add_option("--rows", aug_grid.rows, "Augmented rows (training steps 0..R-1)")->capture_default_str();
  augment->add_option("--seed", aug_grid.seed, "The run seed the draws are keyed by")->capture_default_str();
  augment->add_option("--out", aug_out, "Output PNG file")->required();
  augment->add_option("--device", aug_device, "Device index or name substring (also FOVEA_DEVICE)");

  // ---- fovea eval, fovea export: a finished run directory ----
  fovea::train::EvalOptions eval_opts;
  std::string eval_run, eval_json_path, eval_logits, eval_device;
  bool eval_validate = false;
  auto* eval = app.add_subcommand("eval", "Evaluate a run's final weights: loss, accuracy, per-class accuracy, confusion matrix");
  eval->add_option("--run", eval_run, "Run directory (the --out of fovea train)")->required();
  eval->add_option("--data", eval_opts.data_dir, "Directory with the IDX files (default: the run's)");
  eval->add_option("--split", eval_opts.split,
                   "test; val (the run's holdout, rebuilt from its seed, --limit and --val-split); "
                   "train (the run's training images without the holdout)")
      ->capture_default_str();
  eval->add_option("--json", eval_json_path, "Write the results here (default RUN/eval-<split>.json; with "
                                             "corruption RUN/eval-<split>-blur<S>-noise<STD>.json)");
  eval->add_option("--logits", eval_logits, "Also write the logits as float32 .npy of shape [N, classes], in data-file order");
  eval->add_option("--blur-sigma", eval_opts.blur_sigma, "Blur the images by this Gaussian sigma, pixels (robustness)")
      ->capture_default_str();
  eval->add_option("--noise", eval_opts.noise_std,
                   "Add Gaussian noise of this std, [0, 1] pixel units, seeded as fovea train --test-noise (robustness)")
      ->capture_default_str();
  eval->add_option("--device", eval_device, "Device index or name substring (also FOVEA_DEVICE)");
  eval->add_flag("--validate", eval_validate, "Enable the Khronos validation layer (also FOVEA_VALIDATION=1)");

  std::string export_run, export_onnx;
  auto* exporter = app.add_subcommand("export", "Export a run's model as ONNX (opset 13, evaluation mode)");
  exporter->add_option("--run", export_run, "Run directory (the --out of fovea train)")->required();
  exporter->add_option("--onnx", export_onnx,
                       "Output .onnx file: input [batch, C, H, W] float32 already standardised, output logits [batch, classes]")
      ->required();

  // ---- fovea sharpness: the loss Hessian and Jacobian of a run's weights ----
  fovea::train::SharpnessOptions sharp_opts;
  std::string sharp_run, sharp_data, sharp_device;
  bool sharp_validate = false;
  auto* sharpness = app.add_subcommand(
      "sharpness", "Probe a run's final weights: top Hessian eigenvalues, Hessian trace and input-output Jacobian "
                   "norm of the mean loss over the first N training images; one JSON object on stdout");
  sharpness->add_option("--run", sharp_run, "Run directory (the --out of fovea train)")->required();
  sharpness->add_option("--data", sharp_data, "Directory with the IDX files (default: the run's)");
  sharpness->add_option("--images", sharp_opts.images, "The first N training images, in file order")
      ->capture_default_str();
  sharpness->add_option("--method", sharp_opts.method, "Top eigenvalue by lanczos (full reorthogonalisation) or power iteration")
      ->capture_default_str();
  sharpness->add_option("--top", sharp_opts.top, "Eigenvalues reported in 'top' (Lanczos)")->capture_default_str();
  sharpness->add_option("--tolerance", sharp_opts.tolerance,
                        "Stop when the top eigenvalue(s) moved by less than this, relative, in one iteration")
      ->capture_default_str();
  sharpness->add_option("--max-iterations", sharp_opts.max_iterations, "Cap on Lanczos steps or power iterations")
      ->capture_default_str();
  sharpness->add_option("--trace-probes", sharp_opts.trace_probes,
                        "Rademacher probes of Hutchinson's trace estimate (0 = no trace)")
      ->capture_default_str();
  sharpness->add_option("--jacobian-probes", sharp_opts.jacobian_probes,
                        "Rademacher probes per image of the Jacobian norm (0 = none)")
      ->capture_default_str();
  sharpness->add_option("--seed", sharp_opts.seed, "Seed of the start vector and the probes")->capture_default_str();
  sharpness->add_option("--step", sharp_opts.step,
                        "Finite-difference step of the Hessian-vector products, relative to max(1, |weights|)")
      ->capture_default_str();
  sharpness->add_option("--device", sharp_device, "Device index or name substring (also FOVEA_DEVICE)");
  sharpness->add_flag("--validate", sharp_validate, "Enable the Khronos validation layer (also FOVEA_VALIDATION=1)");
  sharpness->footer(
      "Prints one JSON object on stdout (logs go to stderr): lambda_max, top, trace, trace_se, jacobian_fro,\n"
      "iterations, converged, hvps, loss, images, method, seconds. BatchNorm runs on its running statistics,\n"
      "random layers are off. Hessian-vector products are central differences of float32 GPU gradients\n"
      "(docs/study-sharpening.md gives their measured error); jacobian_fro is sqrt(mean over images of\n"
      "||d logits / d standardised input||_F^2).");

  // ---- fovea bench: the training step on synthetic data, per-kernel time and roofline ----
  fovea::train::BenchConfig bench_cfg;
  std::string bench_device, bench_json_path;
  bool bench_validate = false;
  auto* bench = app.add_subcommand(
      "bench", "Time a model's training step on synthetic data (no data set): images/s, GPU time per kernel, "
               "device memory; with --roofline each kernel's FLOPs, bytes and fraction of the device's roofline");
  bench->add_option("--model", bench_cfg.model_path, "Model spec (JSON)")->required();
  bench->add_option("--batch", bench_cfg.batch, "Batch size")->capture_default_str();
  bench->add_option("--steps", bench_cfg.steps, "Timed training steps")->capture_default_str();
  bench->add_option("--warmup", bench_cfg.warmup, "Untimed steps first (kernels compile at their first use)")
      ->capture_default_str();
  bench->add_flag("--roofline", bench_cfg.roofline,
                  "Per kernel: FLOPs and bytes per step, GFLOP/s, GB/s, FLOP/byte and the fraction of "
                  "min(peak FLOP/s, FLOP/byte x peak bandwidth) it reaches");
  bench->add_option("--peak-gflops", bench_cfg.peak_gflops,
                    "The device's arithmetic peak, GFLOP/s (with --peak-gbps; default: measured by an FMA loop)");
  bench->add_option("--peak-gbps", bench_cfg.peak_gbps,
                    "The device's memory bandwidth, GB/s (with --peak-gflops; default: measured by a streaming copy)");
  bench->add_option("--json", bench_json_path, "Also write the figures as JSON to this file");
  bench->add_option("--seed", bench_cfg.seed, "Seed of the initial weights and the synthetic batches")
      ->capture_default_str();
  bench->add_option("--device", bench_device, "Device index or name substring (also FOVEA_DEVICE)");
  bench->add_flag("--validate", bench_validate, "Enable the Khronos validation layer (also FOVEA_VALIDATION=1)");

  try {
    std::vector<std::string> args(argv, argv + argc);
    try {
      for (const CLI::App* sub : {train, cv})
        if (args.size() > 1 && args[1] == sub->get_name()) {
          if (sub == train) args = expand_resume(args);
          args = expand_run_config(args, *sub);
          // A cv split's checkpoint records no settings: --resume cannot rebuild its split.
          if (sub == train) topts.cfg.args = run_settings(args);
        }
    } catch (const fovea::Error& e) {
      std::fprintf(stderr, "fovea: %s\n", e.what());
      return 1;
    }
    std::reverse(args.begin() + 1, args.end());  // CLI11 parses a vector in reverse
    args.erase(args.begin());
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "fovea: %s (see fovea --help)\n", e.what());
    return 2;
  }

  try {
    if (*devices) {
      auto list = fovea::gpu::list_devices();
      size_t best = fovea::gpu::best_device(list);
      for (size_t i = 0; i < list.size(); ++i)
        std::printf("%s%s\n", fovea::gpu::describe(list[i]).c_str(), i == best ? "\n    (best: used by default)" : "");
      return 0;
    }
    if (*blur) {
      auto ctx = fovea::gpu::Context::create({blur_device, false});
      fovea::data::Dataset ds = fovea::data::load_mnist_dir(blur_data, 256);  // any u8 label
      const fovea::data::ImageSet& set = blur_split == "train" ? ds.train : ds.test;
      fovea::train::Image img = fovea::train::blur_grid(*ctx, set, grid);
      fovea::io::write_png(blur_out, img.width, img.height, img.channels, img.pixels);
      std::string sig;
      for (double s : grid.sigmas) sig += (sig.empty() ? "" : ", ") + CLI::detail::to_string(s);
      std::printf("wrote %s: %zu rows (sigma %s%s) x %u images, %ux%u pixels\n", blur_out.c_str(),
                  grid.sigmas.size(), sig.c_str(), grid.pyramid ? ", pyramid" : "", grid.count, img.width,
                  img.height);
      return 0;
    }
    if (*report) {
      // The sample grid needs the run's data and a device; without the data
      // (or any device, unless --device named one) the page still renders,
      // with a note instead of the grid.
      fovea::train::ReportExtras extras;
      const std::string data = fovea::train::report_data_dir(report_dir);
      std::optional<fovea::data::Dataset> ds;
      std::unique_ptr<fovea::gpu::Context> ctx;
      try {
        if (data.empty()) throw fovea::Error("summary.json names no data directory");
        ds = fovea::data::load_mnist_dir(data, 256);  // any u8 label
        ctx = fovea::gpu::Context::create({report_device, false});
      } catch (const fovea::Error& e) {
        if (ds && !report_device.empty()) throw;
        extras.grid_note = std::string("no sample grid: ") + e.what();
      }
      if (ctx) extras = fovea::train::report_samples(*ctx, ds->train, report_dir);
      std::printf("wrote %s\n", fovea::train::write_report(report_dir, extras).c_str());
      return ctx ? finish_validation(*ctx) : 0;
    }
    if (*augment) {
      aug_grid.augment = fovea::data::parse_augment(aug_list);
      auto ctx = fovea::gpu::Context::create({aug_device, false});
      fovea::data::Dataset ds = fovea::data::load_mnist_dir(aug_data, 256);  // any u8 label
      fovea::train::Image img = fovea::train::augment_grid(*ctx, ds.train, aug_grid);
      fovea::io::write_png(aug_out, img.width, img.height, img.channels, img.pixels);
      std::printf("wrote %s: originals and %u augmented rows (%s) x %u images, %ux%u pixels\n",
                  aug_out.c_str(), aug_grid.rows, fovea::data::describe_augment(aug_grid.augment).c_str(),
                  aug_grid.count, img.width, img.height);
      return 0;
    }
    if (*eval) {
      eval_opts.logits = !eval_logits.empty();
      const fovea::train::RunInfo run = fovea::train::load_run(eval_run);
      auto ctx = fovea::gpu::Context::create({eval_device, eval_validate});
      const fovea::train::EvalResult r = fovea::train::evaluate_run(*ctx, run, eval_opts);
      if (eval_json_path.empty()) {
        std::string name = "eval-" + eval_opts.split;
        if (eval_opts.blur_sigma > 0 || eval_opts.noise_std > 0)
          name += "-blur" + CLI::detail::to_string(eval_opts.blur_sigma) + "-noise" + CLI::detail::to_string(eval_opts.noise_std);
        eval_json_path = run.dir + "/" + name + ".json";
      }
      std::printf("run %s (device: %s)\n%s", run.dir.c_str(), ctx->info().name.c_str(), fovea::train::eval_table(r).c_str());
      fovea::io::write_file_atomically(eval_json_path, fovea::train::eval_json(run, eval_opts, r));
      std::printf("wrote %s\n", eval_json_path.c_str());
      if (!eval_logits.empty()) {
        fovea::io::write_npy_f32(eval_logits, r.logits, r.images, r.classes);
        std::printf("wrote %s: logits [%llu, %u] float32\n", eval_logits.c_str(), (unsigned long long)r.images, r.classes);
      }
      return finish_validation(*ctx);
    }
    if (*exporter) {
      const fovea::train::RunInfo run = fovea::train::load_run(export_run);
      if (run.feature_sigma > 0)
        throw fovea::Error("cannot export " + export_run + ": its conv2d outputs are smoothed (--feature-smoothing, final sigma " +
                           CLI::detail::to_string(run.feature_sigma) + "), which the ONNX graph does not include");
      const fovea::io::onnx::Model m =
          fovea::io::export_onnx({&run.spec, &run.weights, run.weights_path, run.mean, run.std, ""});
      fovea::io::onnx::write_model(export_onnx, m);
      std::printf("wrote %s: %zu nodes, %zu initializers, opset %lld; input [batch, %u, %u, %u] standardised "
                  "per channel ((pixel / 255 - mean) / std, see its metadata), output logits [batch, %u]\n",
                  export_onnx.c_str(), m.graph.nodes.size(), m.graph.initializers.size(), (long long)m.opset,
                  run.spec.channels, run.spec.height, run.spec.width, run.spec.classes);
      return 0;
    }
    if (*sharpness) {
      fovea::train::validate_sharpness_options(sharp_opts);
      const fovea::train::RunInfo run = fovea::train::load_run(sharp_run);
      auto ctx = fovea::gpu::Context::create({sharp_device, sharp_validate});
      const fovea::train::SharpnessResult r = fovea::train::sharpness_of_run(*ctx, run, sharp_data, sharp_opts);
      std::fprintf(stderr, "sharpness of %s on the first %u training images: %llu Hessian-vector products, %.1f s "
                   "(device: %s)\n", run.dir.c_str(), sharp_opts.images, (unsigned long long)r.hvps, r.seconds,
                   ctx->info().name.c_str());
      std::fputs(fovea::train::sharpness_json(r, sharp_opts).c_str(), stdout);
      return finish_validation(*ctx);
    }
    if (*bench) {
      auto ctx = fovea::gpu::Context::create({bench_device, bench_validate});
      std::printf("device: %s (%s)\n", ctx->info().name.c_str(), fovea::gpu::device_type_name(ctx->info().type));
      std::fflush(stdout);
      const fovea::train::BenchResult r = fovea::train::run_bench(*ctx, bench_cfg);
      std::fputs(fovea::train::bench_text(r).c_str(), stdout);
      if (!bench_json_path.empty()) {
        fovea::io::write_file_atomically(bench_json_path, fovea::train::bench_json(r));
        std::printf("wrote %s\n", bench_json_path.c_str());
      }
      return finish_validation(*ctx);
    }
    if (*train) {
      fovea::dist::Comm comm;  // MPI when an MPI launcher started this process
      try {
        resolve_train_options(topts, argc, argv, "");
        join_ranks(topts, comm);
        auto ctx = open_device(topts);
        fovea::train::train(*ctx, topts.cfg);
        return finish_validation(*ctx);
      } catch (const fovea::Error& e) {
        // One rank's failure stops them all (MPI_Abort), never a hang.
        if (comm.distributed()) comm.abort(e.what());
        throw;
      } catch (const std::exception& e) {
        if (comm.distributed()) comm.abort(std::string("unexpected error: ") + e.what());
        throw;
      }
    }
    if (*cv) {
      fovea::train::CvConfig c;
      c.cv.protocol = fovea::data::parse_protocol(protocol);
      const std::vector<std::string> reads = fovea::data::protocol_options(c.cv.protocol);
      for (CLI::Option* opt : {folds_option, repeats_option, p_option, max_splits_option, cv_val_split_option})
        given_and_read(opt, reads, "--protocol " + protocol);
      c.cv.folds = folds;
      c.cv.repeats = repeats;
      c.cv.p = p;
      c.cv.max_splits = max_splits;
      if (fovea::dist::Comm::launched_size() > 1)
        throw fovea::Error("fovea cv does not run data-parallel; start it without mpirun (fovea train does)");
      resolve_train_options(copts, argc, argv, "cv-");
      c.train = copts.cfg;
      auto ctx = open_device(copts);
      fovea::train::cross_validate(*ctx, c);
      return finish_validation(*ctx);
    }
  } catch (const fovea::Error& e) {
    std::fprintf(stderr, "fovea: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fovea: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
