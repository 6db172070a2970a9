#include "cli/train_options.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <utility>

#include "cli/environment.h"
#include "train/run_support.h"
#include "util/error.h"

namespace fovea::cli {

std::string timestamp_dir(const std::string& prefix) {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  return "runs/" + prefix + buf;
}

namespace {

std::string join_args(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
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

// A data-parallel rank's device when none is named: with several devices
// of the best kind on its machine, the local_rank-th of them (round robin);
// else the best one, shared by the machine's ranks.
std::string rank_device(int local_rank) {
  const auto list = fovea::gpu::list_devices(fovea::cli::read_environment().limits);
  if (list.empty()) return "";
  const size_t best = fovea::gpu::best_device(list);
  std::vector<uint32_t> same;
  for (const auto& d : list)
    if (d.type == list[best].type) same.push_back(d.index);
  return same.size() > 1 ? std::to_string(same[size_t(local_rank) % same.size()]) : std::to_string(list[best].index);
}

}  // namespace

bool given_and_read(const CLI::Option* o, const std::vector<std::string>& reads, const std::string& what) {
  if (o->count() == 0) return false;
  if (std::find(reads.begin(), reads.end(), o->get_name()) == reads.end()) {
    std::string list;
    for (const std::string& r : reads) list += (list.empty() ? "" : ", ") + r;
    throw fovea::Error(o->get_name() + " does not apply to " + what + " (it reads " + list + ")");
  }
  return true;
}

const char* const kAugmentHelp =
    "Augment training batches on the GPU (after standardisation, before the blur; never in "
    "evaluation), seeded by --seed and the step: comma-separated items flip|hflip[:P], "
    "vflip[:P] (P default 0.5), crop:PAD (black padding), rotate:DEG, translate:FRAC, "
    "scale:LO-HI|scale:S, shear:DEG (one bilinear warp, black outside), brightness:B, "
    "contrast:C (factors in [1-B, 1+B]), noise:STD ([0, 1] pixel units), cutout:SIZE, "
    "erase[:P] (RandomErasing, P default 0.5), mixup:ALPHA, cutmix:ALPHA (soft targets "
    "through the loss; train_acc counts the heavier label), fgsm:EPS[:P] (adversarial: after the blur, "
    "the batch moved by EPS sign(dloss/dinput) of the current weights in evaluation mode, [0, 1] pixel "
    "units, clipped to valid pixels; in a share P of the steps, default 1), pgd:EPS:STEPS[:P] (STEPS "
    "steps of 2.5 EPS / STEPS, projected onto the EPS ball)";

namespace {

// --optimizer and its hyperparameters; the footer holds their defaults.
void add_optimizer_options(CLI::App* train, TrainOptions& o) {
  auto& given = o.given;
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
}

// --l1, --l2, --penalize-biases, --clip-norm, --clip-value.
void add_penalty_options(CLI::App* train, TrainOptions& o) {
  auto& cfg = o.cfg;
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
}

// The run: seed, data subset, files, device, progress, checkpoints, probes.
void add_run_options(CLI::App* train, TrainOptions& o) {
  auto& cfg = o.cfg;
  train->add_option("--seed", cfg.seed, "Seed for initialisation, holdout, shuffles and dropout masks")->capture_default_str();
  train->add_option("--limit", cfg.limit, "Use only the first N training images (0 = all)")->capture_default_str();
  train->add_option("--val-split", o.val_split, "Validation holdout: a count N or a fraction in [0, 1) (default 1/12; 0 = none)");
  train->add_option("--out", cfg.out_dir, "Run directory (default runs/<timestamp>)");
  train->add_option("--init", cfg.init, "Start from these weights (a safetensors file, e.g. a run's model.safetensors)");
  train->add_flag("--init-partial", cfg.init_partial,
                  "With --init: load only the file's tensors whose name and shape match the model's, and list "
                  "the model's tensors left initialised and the file's tensors not used (without it a mismatch "
                  "is an error)");
  train->add_option("--freeze", cfg.freeze,
                    "Layers whose parameters never change (indices or names, comma-separated, e.g. 0,2 or "
                    "features): no optimizer state, no weight gradient, no penalty; they run in evaluation mode "
                    "(BatchNorm on its running statistics)");
  o.label_smoothing_opt = train->add_option(
      "--label-smoothing", o.label_smoothing,
      "Cross-entropy label smoothing in [0, 1), overriding the model spec's \"loss\" (the target is (1 - e) "
      "onehot + e / classes, as torch.nn.CrossEntropyLoss(label_smoothing=e))");
  train->add_option("--shuffle", o.shuffle, "on: a seeded shuffle every epoch; off: file order")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  train->add_option("--class-weights", cfg.class_weights,
                    "Training loss weight per class: none, balanced (n / (K n_c) from the training images) or "
                    "W0,W1,... (one per class; as torch.nn.CrossEntropyLoss(weight=...))")
      ->capture_default_str();
  train->add_option("--sampler", cfg.sampler,
                    "epoch: every training image once per epoch; balanced: each draw picks a class uniformly, then "
                    "one of its images (with replacement; same epoch size)")
      ->check(CLI::IsMember({"epoch", "balanced"}))
      ->capture_default_str();
  add_device_options(train, o.dev);
  train->add_flag("--profile", cfg.profile, "Print GPU time per op per step");
  train->add_flag("--no-progress", o.no_progress, "No progress bar, even on a terminal");
  train->add_flag("--sync-bn", cfg.sync_bn,
                  "Data-parallel runs (mpirun -np N): BatchNorm statistics over the whole global batch, "
                  "like PyTorch's SyncBatchNorm (one host exchange per BatchNorm layer forward and backward; "
                  "without it each rank normalises by its shard's; one process: no effect)");
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
                  "Print the recorded training and evaluation steps (each op, its buffers and their sizes), each op family's kernel choice and the memory, then exit");
}

// --lr-schedule and its settings, warm-up, plateau.
void add_lr_schedule_options(CLI::App* train, TrainOptions& o) {
  auto& cfg = o.cfg;
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
}

// Early stopping, target accuracy, divergence.
void add_stopping_options(CLI::App* train, TrainOptions& o) {
  auto& cfg = o.cfg;
  const char* stop_group = "Stopping";
  train->add_option("--early-stop", cfg.early_stop,
                    "Stop after this many epochs without improvement of --early-stop-metric and keep the best epoch's weights (0 = off)")
      ->capture_default_str()
      ->group(stop_group);
  train->add_option("--early-stop-metric", cfg.early_stop_metric,
                    "val_loss, val_acc or val_balanced_acc (the mean per-class recall)")
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
}

// Progressive sharpening, augmentation and the robustness evaluations.
// How image files (class folders, manifests) are decoded.
void add_image_options(CLI::App* train, TrainOptions& o) {
  const char* group = "Image files (class folders, CSV manifests; docs/data.md)";
  train->add_option("--resize", o.resize,
                    "Images of another size than the model's input: crop (scale the short side to fit, centre "
                    "crop), stretch, or pad (fit inside, zeros around)")
      ->check(CLI::IsMember({"crop", "stretch", "pad"}))
      ->capture_default_str()
      ->group(group);
  train->add_flag("--no-cache", o.no_cache,
                  "Decode the images again, neither reading nor writing the decoded-images cache "
                  "($XDG_CACHE_HOME/fovea/data, or ~/.cache/fovea/data)")
      ->group(group);
  train->add_flag("--skip-bad-images", o.cfg.skip_bad_images,
                  "List unreadable or corrupt images on stderr and train on the rest (default: the first is an error)")
      ->group(group);
  train->add_option("--class-names", o.cfg.class_names,
                    "IDX files or a manifest with integer labels: a file of class names, one per line in label order")
      ->group(group);
}

void add_sharpening_options(CLI::App* train, TrainOptions& o) {
  auto& cfg = o.cfg;
  train->add_option("--sharpen", cfg.sharpen.schedule,
                    "Progressive sharpening: none, constant, step, linear, cosine, exponential, "
                    "list:S1,S2,...@E (sigmas held E epochs each), or pyramid (no blur: lower resolutions, "
                    "1/2^(levels-1) up to the originals, for models whose layers accept any input size)")
      ->capture_default_str()
      ->group("Progressive sharpening");
  train->add_option("--sigma0", cfg.sharpen.sigma0, "Starting blur sigma, pixels")
      ->capture_default_str()
      ->group("Progressive sharpening");
  train->add_option("--sharpen-epochs", cfg.sharpen.sharpen_epochs,
                    "Epochs until sigma reaches 0 (default: 3/4 of --epochs rounded down; the whole run for constant)")
      ->group("Progressive sharpening");
  train->add_option("--levels", cfg.sharpen.levels, "Levels of the step schedule (blur) or of pyramid (resolution)")
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
  train->add_option("--test-corrupt", cfg.test_corrupt,
                    "Also evaluate the test set under each corruption NAME=VALUE (comma-separated): blur=SIGMA, "
                    "noise=STD (as --test-blur, --test-noise), contrast=FACTOR (0-1, kept), brightness=SHIFT (-1 to 1), "
                    "saltpepper=FRACTION, translate=PIXELS, jpeg=QUALITY (1-100); one fixed seed")
      ->delimiter(',')
      ->group("Robustness");
  train->add_option("--test-fgsm", cfg.test_fgsm,
                    "Also evaluate the test set under an FGSM attack of each eps (comma-separated, [0, 1] pixel "
                    "units) on the final weights")
      ->delimiter(',')
      ->group("Robustness");
}

}  // namespace

void add_train_options(CLI::App* train, TrainOptions& o) {
  auto& cfg = o.cfg;
  train->add_option("--model", cfg.model_path, "Model spec JSON (e.g. assets/models/mlp.json)")->required();
  cfg.data_dir = kDefaultDataDir;
  add_data_option(train, cfg.data_dir);
  add_image_options(train, o);
  train->add_option("--epochs", cfg.epochs, "Epochs to train")->capture_default_str();
  train->add_option("--batch", cfg.batch, "Batch size")->capture_default_str();
  train->add_option("--accumulate", cfg.accumulate,
                    "Micro-batches of --batch rows per optimizer step, gradients summed on the device "
                    "(one batch of N x --batch rows up to float summation order)")
      ->capture_default_str();
  o.lr = train->add_option("--lr", cfg.lr, "Learning rate (default: the optimizer's, in the table below)");
  add_optimizer_options(train, o);
  add_penalty_options(train, o);
  add_run_options(train, o);
  add_lr_schedule_options(train, o);
  add_stopping_options(train, o);
  add_sharpening_options(train, o);
  train->add_option("--config", "A run config: a JSON object of long option names and values, e.g. "
                                "{\"lr\": 0.05, \"sharpen\": \"step\"}; options on the command line override it");
}

void add_cv_options(CLI::App* sub, CvOptions& o, bool required) {
  const char* group = "Cross-validation";
  o.protocol_option = sub->add_option("--protocol", o.protocol,
                                      "holdout, stratified-holdout, repeated-random (sub-sampling), kfold, "
                                      "stratified-kfold or leave-p-out")
                          ->required(required)
                          ->group(group);
  auto option = [&](const char* name, uint32_t& value, const char* help) {
    return sub->add_option(name, value, help)->capture_default_str()->group(group);
  };
  o.folds_option = option("--folds", o.folds, "kfold, stratified-kfold: the number of folds K (2 <= K <= images)");
  o.repeats_option = option("--repeats", o.repeats,
                            "repeated-random, stratified-holdout: holdouts drawn; kfold, stratified-kfold: "
                            "reshuffled k-fold repeats (repeated k-fold)");
  o.p_option = option("--p", o.p, "leave-p-out: images left out per split (1 = leave-one-out)");
  o.max_splits_option = option("--max-splits", o.max_splits,
                               "leave-p-out: train on a seeded sample of this many distinct p-subsets, at most "
                               "1000 (0 = every subset, refused past 1000)");
}

fovea::data::CvSettings resolve_cv_options(const CvOptions& o, const CLI::Option* val_split) {
  fovea::data::CvSettings c;
  c.protocol = fovea::data::parse_protocol(o.protocol);
  const std::vector<std::string> reads = fovea::data::protocol_options(c.protocol);
  const CLI::Option* const read[] = {o.folds_option, o.repeats_option, o.p_option, o.max_splits_option, val_split};
  for (const CLI::Option* opt : read) given_and_read(opt, reads, "--protocol " + o.protocol);
  c.folds = o.folds;
  c.repeats = o.repeats;
  c.p = o.p;
  c.max_splits = o.max_splits;
  return c;
}

void resolve_train_options(TrainOptions& o, const std::vector<std::string>& argv, const std::string& dir_prefix) {
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
  if (o.label_smoothing_opt->count() > 0) cfg.label_smoothing = o.label_smoothing;
  cfg.shuffle = o.shuffle == "on";
  cfg.resize = fovea::data::parse_resize(o.resize);
  cfg.cache = !o.no_cache;
  cfg.progress = !o.no_progress;
  cfg.command_line = join_args(argv);
  cfg.resume = !o.resume_dir.empty();
  if (cfg.resume && dir_prefix == "cv-") throw fovea::Error("--resume continues a fovea train run, not a cross-validation");
  if (cfg.resume && cfg.print_plan) throw fovea::Error("--print-plan does not go with --resume");
}

void join_ranks(TrainOptions& o, fovea::dist::Comm& comm) {
  if (!comm.distributed()) return;
  comm.broadcast(o.cfg.out_dir);
  o.cfg.comm = &comm;
  if (comm.rank() != 0) {
    o.cfg.progress = false;
    if (!std::freopen("/dev/null", "w", stdout)) throw fovea::Error("cannot silence stdout of rank " + std::to_string(comm.rank()));
  }
  if (o.dev.device.empty() && read_environment().device.empty()) o.dev.device = rank_device(comm.local_rank());
}

void print_run_line(const std::string& dir) {
  std::printf("run: %s\n", dir.c_str());
  std::fflush(stdout);
}

std::unique_ptr<fovea::gpu::Context> open_device(const TrainOptions& o, bool print_run) {
  // The options first: a bad value is one line before any device or run line.
  fovea::train::check_train_options(o.cfg);
  auto ctx = open_context(o.dev);
  std::printf("device: %s (%s)\n", ctx->info().name.c_str(), fovea::gpu::device_type_name(ctx->info().type));
  std::fflush(stdout);
  if (!o.cfg.print_plan && print_run) print_run_line(o.cfg.out_dir);
  return ctx;
}

}  // namespace fovea::cli
