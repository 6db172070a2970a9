// `fovea train`: the run's setup and its epoch loop (train/run.h).
#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "data/idx.h"
#include "gpu/context.h"
#include "probe/sharpness.h"
#include "train/class_balance.h"
#include "train/resume.h"
#include "train/run.h"
#include "train/run_data.h"
#include "train/weights.h"
#include "util/error.h"

namespace fovea::train {

namespace fs = std::filesystem;

namespace {

const TrainConfig& checked(const TrainConfig& cfg) {
  check_train_options(cfg);
  return cfg;
}

LrConfig lr_config(const TrainConfig& cfg) {
  LrConfig lc = cfg.lr_schedule;
  lc.lr = cfg.lr;
  return lc;
}

}  // namespace

Run::Run(gpu::Context& ctx, const TrainConfig& cfg)
    : ctx_(ctx),
      cfg_(checked(cfg)),
      schedule_(cfg.sharpen, cfg.epochs),
      lc_(lr_config(cfg)),
      lr_schedule_(lc_, cfg.epochs),
      corruptions_(data::parse_corruptions(cfg.test_corrupt, "--test-corrupt")),
      balanced_(balanced_sampler(cfg.sampler)),
      augment_(data::parse_augment(cfg.augment)),
      ranks_(cfg.comm) {
  check_accumulate(cfg, augment_, ranks_.size);
  check_batch_shards(cfg.batch, ranks_.size);
  spec_ = nn::load_model_spec(cfg.model_path);
  if (cfg.label_smoothing) spec_ = nn::with_label_smoothing(spec_, *cfg.label_smoothing);
  ds_ = open_data(cfg, spec_);
  // Standardisation uses the whole training file, whatever --limit says.
  stats_ = data::channel_stats(ds_.train);
  split_ = run_split(cfg, ds_);
  if (!ds_.test && (!cfg.test_blur.empty() || !cfg.test_noise.empty() || !corruptions_.empty() || !cfg.test_fgsm.empty()))
    throw Error(std::string(!cfg.test_blur.empty() ? "--test-blur" : !cfg.test_noise.empty() ? "--test-noise"
                            : !corruptions_.empty() ? "--test-corrupt" : "--test-fgsm") +
                " evaluates the test set, and " + cfg.data_dir + " has none (no test/ folder or test rows)");
  if ((cfg.early_stop > 0 || cfg.target_acc > 0) && split_.val.empty())
    throw Error(std::string(cfg.early_stop > 0 ? "--early-stop" : "--target-acc") +
                " watches the validation set, and --val-split 0 leaves none");
  // Without a test set the test phase evaluates no image (its figures are null).
  if (ds_.test) test_idx_ = all_images(*ds_.test);
  out_ = fs::path(cfg.out_dir);
  check_out_dir(out_, cfg.resume, ranks_.writer());
  if (cfg.sharpness_every > 0 && (cfg.sharpness_images == 0 || cfg.sharpness_images > ds_.train.count))
    throw Error("--sharpness-images " + std::to_string(cfg.sharpness_images) + " is not in [1, " +
                std::to_string(ds_.train.count) + "] (the training images in " + ds_.train.images_path + ")");
  build_model();
}

void Run::build_model() {
  const TrainConfig& cfg = cfg_;
  mo_.class_weights = class_weights(cfg.class_weights, ds_.train.labels, split_.train, spec_.classes);
  if (!mo_.class_weights.empty() && ranks_.size > 1)
    throw Error("--class-weights is not implemented for data-parallel runs (each rank would divide by its own "
                "shard's weight sum)");
  mo_.batch = cfg.batch / ranks_.size;  // this rank's shard of the global batch
  mo_.pruned = cfg.pruned;
  mo_.data_parallel = ranks_.size > 1;
  mo_.sync_bn = cfg.sync_bn && mo_.data_parallel;  // one rank's statistics are the batch's already
  mo_.accumulate = cfg.accumulate > 1;
  mo_.read_logits = true;  // the test pass counts the confusion matrix
  mo_.optim = cfg.optim;
  mo_.regularize = cfg.regularize;
  mo_.channel_mean = stats_.mean;
  mo_.channel_std = stats_.std;
  mo_.blur_replay = cfg.sharpen_replay;
  mo_.train_blur = schedule_.active();  // sigma 0 throughout: no blur passes at all
  mo_.feature_smoothing = cfg.feature_smoothing;
  mo_.augment = augment_;
  mo_.frozen = frozen_layers(spec_, cfg.freeze);
  model_ = std::make_unique<nn::Model>(ctx_, spec_, mo_);
  nn::Model& model = *model_;
  model.init_parameters(cfg.seed);
  if (cfg.init_partial && cfg.init.empty()) throw Error("--init-partial needs --init FILE");
  if (!cfg.init.empty()) cfg.init_partial ? load_weights_partial(model, cfg.init) : load_weights(model, cfg.init);
  // --sharpen pyramid: the models and images of the levels below full size.
  if (schedule_.kind() == "pyramid") {
    if (ranks_.size > 1) throw Error("--sharpen pyramid trains one process (not mpirun)");
    if (cfg.accumulate > 1) throw Error("--sharpen pyramid trains without --accumulate");
    ladder_ = std::make_unique<ResolutionLadder>(ctx_, spec_, mo_, schedule_, cfg.epochs, ds_.train, model,
                                                 session_options());
  }
}

SessionOptions Run::session_options() const {
  SessionOptions so;
  so.seed = cfg_.seed;
  so.optim = cfg_.optim;
  so.accumulate = cfg_.accumulate;
  so.ranks = ranks_.size;
  so.profile = cfg_.profile;
  return so;
}

// The run directory's files, the session and the probe: only now, with data,
// model and weights in place (a bad input leaves nothing behind).
void Run::open_run() {
  if (cfg_.resume) resumed_ = resume_run(out_, *model_, ranks_, result_);
  if (ranks_.writer()) {  // only rank 0 writes
    std::error_code ec;
    fs::create_directories(out_, ec);
    if (ec) throw Error("cannot create output directory " + out_.string() + ": " + ec.message());
    metrics_.open(out_ / "metrics.jsonl", cfg_.resume ? std::ios::app : std::ios::trunc);
    if (!metrics_) throw Error("cannot write " + (out_ / "metrics.jsonl").string());
    if (cfg_.on_run_dir) cfg_.on_run_dir(out_.string());
  }
  session_ = std::make_unique<Session>(*model_, session_options());
  // The optimizer's step count is steps() + 1: its state starts at zeros in
  // every run, --init or not, as a fresh torch.optim optimizer (a resumed
  // run takes it from the checkpoint).
  session_->set_steps(resumed_.step);
  if (ranks_.size > 1) exchange_ = std::make_unique<RankExchange>(*model_, *ranks_.comm);
  // The sharpness probe runs on a model of its own (the probe programs),
  // given the epoch's weights; training records and pays nothing for it.
  if (cfg_.sharpness_every > 0) {
    nn::ModelOptions pmo = mo_;
    pmo.slots = 1;
    pmo.augment = {};
    pmo.probe = true;
    pmo.data_parallel = false;  // every rank probes the same weights alike
    probe_model_ = std::make_unique<nn::Model>(ctx_, spec_, pmo);
  }
  result_.device = ctx_.info().name;
  penalised_ = !model_->penalty_terms().empty();
  eval_base_.seed = uint32_t(cfg_.seed);
  eval_base_.feature_sigma = float(resumed_.feature_sigma);
  lr_schedule_.set_state(resumed_.lr);
  stopping_ = std::make_unique<StoppingRules>(cfg_, resumed_, *model_);
}

void Run::print_settings() const {
  std::printf("optimizer: %s\n", ops::describe_optimizer(cfg_.optim).c_str());
  const ops::RegularizeConfig& rc = cfg_.regularize;
  if (penalised_ || rc.clip_norm > 0 || rc.clip_value > 0)
    std::printf("regularize: %zu penalised tensors (global l1 %g, l2 %g%s), clip-norm %g, clip-value %g\n",
                model_->penalty_terms().size(), rc.l1, rc.l2, rc.penalize_biases ? ", biases too" : "",
                rc.clip_norm, rc.clip_value);
  if (lc_.schedule != "constant" || lc_.warmup_epochs > 0)
    std::printf("lr: %s\n", lr_schedule_.describe().c_str());
  if (schedule_.active())
    std::printf("sharpen: %s%s%s\n", schedule_.describe().c_str(),
                cfg_.sharpen_replay > 0 ? (", replay " + std::to_string(cfg_.sharpen_replay)).c_str() : "",
                cfg_.feature_smoothing ? ", feature smoothing" : "");
  if (augment_.any() || augment_.adversarial.any()) std::printf("augment: %s\n", data::describe_augment(augment_).c_str());
}

// Evaluation is sharded like training: each rank runs its share of the
// images (noise keyed by their position in the whole pass), the sums are
// reduced over the ranks.
Totals Run::evaluate_all(const data::ImageSet& set, const std::vector<uint32_t>& indices, nn::StepParams base,
                         const LogitsSink& sink, AttackedModel* attacked) {
  const size_t a = ranks_.begin(indices.size()), b = ranks_.end(indices.size());
  const std::vector<uint32_t> mine(indices.begin() + a, indices.begin() + b);
  base.first_image += uint32_t(a);
  LogitsSink shifted;
  if (sink) shifted = [&](size_t first, uint32_t rows, const float* logits) { sink(a + first, rows, logits); };
  return ranks_.reduce(attacked ? evaluate(*attacked->model, *attacked->step, set, mine, base, shifted)
                                : session_->evaluate(set, mine, base, shifted));
}

// A checkpoint of the run as it stands after `epochs` epochs; model.safetensors
// gets the same weights. Both are written atomically.
void Run::save_checkpoint(uint32_t epochs, const std::string& stop_reason, uint32_t final_epoch) {
  if (!ranks_.writer()) return;
  CheckpointState c;
  c.world_size = ranks_.size;
  c.epoch = epochs;
  c.step = uint32_t(session_->steps());
  c.batches_tracked = model_->batches_tracked();
  c.feature_sigma = eval_base_.feature_sigma;
  c.lr = lr_schedule_.state();
  stopping_->fill(c, stop_reason, final_epoch);
  c.args = cfg_.args;
  c.command = cfg_.command_line;
  write_checkpoint((out_ / "checkpoint.safetensors").string(), (out_ / "model.safetensors").string(), *model_,
                   stats_.mean, stats_.std, c);
}

// One epoch's training steps in `order`: one optimizer step per global
// batch; with --accumulate N it is N micro-batches of --batch rows. A
// --sharpen pyramid level below full size trains its own model and images
// (the copies in and out count in the epoch's seconds).
Run::Trained Run::train_epoch(uint32_t epoch, const std::vector<uint32_t>& order) {
  ResolutionLadder::Level* level = ladder_ ? ladder_->enter(epoch, *model_) : nullptr;
  Session& ts = level ? *level->session : *session_;
  const data::ImageSet& timages = level ? level->images : ds_.train;
  ts.set_steps(session_->steps());
  ts.zero_train_sums();
  Progress bar(cfg_.progress, epoch + 1, cfg_.epochs, order.size());
  const auto t0 = Clock::now();
  const size_t step_batch = size_t(cfg_.batch) * cfg_.accumulate;
  for (size_t first = 0; first < order.size(); first += step_batch) {
    const uint32_t global_rows = uint32_t(std::min<size_t>(step_batch, order.size() - first));
    const double t = epoch + double(first) / double(order.size());
    StepRate rate;
    rate.lr = lr_schedule_.rate(t);
    rate.blur_sigma = schedule_.sigma(t);
    rate.feature_sigma = cfg_.feature_smoothing ? float(rate.blur_sigma) : 0.0f;
    eval_base_.feature_sigma = float(rate.feature_sigma);
    // This rank's shard of the global batch (all of it with one process).
    StepRows rows = StepRows::whole(global_rows);
    rows.first = uint32_t(ranks_.begin(global_rows));
    rows.rows = uint32_t(ranks_.end(global_rows)) - rows.first;
    const uint64_t step = ts.steps();
    ts.train_step(rate, rows, [&](uint32_t slot, uint64_t at, uint32_t n) {
      if (bar.due(first)) {
        // This slot's sums are complete here (its run has finished); they
        // stand for the epoch so far. Read only when the bar redraws.
        const Totals partial = ts.train_totals(slot, 1);
        bar.update(first, seconds_since(t0), partial.mean_loss(), partial.accuracy());
      }
      fill_from_set(ts.model(), timages, order.data() + first + at, n, slot);
      if (augment_.mixing()) {
        // This step's mixup / cutmix draw, after the labels (the GPU reads it there).
        const data::MixDraw mix = data::draw_mix(augment_, cfg_.seed, uint32_t(step), n, timages.height, timages.width);
        std::memcpy(static_cast<uint32_t*>(ts.model().labels_ring().host(slot)) + ts.model().batch(), &mix, sizeof mix);
      }
    }, exchange_.get());
  }
  ts.finish_training();
  Trained tr;
  tr.seconds = seconds_since(t0);
  tr.totals = ranks_.reduce(ts.train_totals());
  tr.images = order.size();
  tr.input_size = {timages.height, timages.width};
  session_->set_steps(ts.steps());
  if (level) ResolutionLadder::leave(*level, *model_);
  if (tr.totals.count != order.size())
    throw Error("internal: the GPU counted " + std::to_string(tr.totals.count) + " training images, expected " +
                std::to_string(order.size()));
  bar.update(order.size(), tr.seconds, tr.totals.mean_loss(), tr.totals.accuracy());
  bar.done();
  return tr;
}

// One epoch: training, validation, the epoch's figures; the stopping rules'
// divergence check and the sharpness probe on its final weights.
EpochResult Run::run_epoch(uint32_t epoch) {
  const std::vector<uint32_t> order =
      balanced_      ? balanced_order(split_.train, ds_.train.labels, spec_.classes, cfg_.seed, epoch)
      : cfg_.shuffle ? data::epoch_order(split_.train, cfg_.seed, epoch)
                     : split_.train;
  const auto epoch_start = Clock::now();
  const Trained tr = train_epoch(epoch, order);
  // Validation: the source's validation images, else the holdout of the training images.
  const data::ImageSet& val_set = ds_.val ? *ds_.val : ds_.train;
  ClassRecall recall(spec_.classes);
  const Totals va = evaluate_all(val_set, split_.val, eval_base_, [&](size_t first, uint32_t rows, const float* logits) {
    for (uint32_t r = 0; r < rows; ++r)
      recall.add(val_set.labels[split_.val[first + r]], logits + size_t(r) * spec_.classes);
  });
  if (ranks_.size > 1) {
    ranks_.comm->allreduce_sum(recall.correct.data(), recall.correct.size());
    ranks_.comm->allreduce_sum(recall.count.data(), recall.count.size());
  }
  EpochResult e;
  e.epoch = epoch + 1;
  e.train_loss = tr.totals.mean_loss();
  e.train_acc = tr.totals.accuracy();
  e.val_loss = va.mean_loss();
  e.val_acc = va.accuracy();
  e.val_balanced_acc = recall.balanced_accuracy();
  e.lr = lr_schedule_.rate(epoch);
  e.blur_sigma = schedule_.sigma(epoch);
  if (ladder_) e.input_size = tr.input_size;
  e.seconds = seconds_since(epoch_start);
  e.images_per_second = double(tr.images) / tr.seconds;
  e.train_images = tr.images;
  e.val_images = split_.val.size();
  if (exchange_) e.allreduce_seconds = exchange_->take_seconds();
  train_seconds_ = tr.seconds;
  return e;
}

// The top Hessian eigenvalue of the epoch's final weights, every
// --sharpness-every epochs.
void Run::probe(EpochResult& e, const Snapshot& now) {
  if (!probe_model_ || !diverged_.empty() || e.epoch % cfg_.sharpness_every != 0) return;
  probe_model_->upload_parameters(now.params);
  probe_model_->upload_state(now.state);
  SharpnessOptions so;
  so.images = cfg_.sharpness_images;
  so.trace_probes = so.jacobian_probes = 0;
  so.seed = cfg_.seed;
  const SharpnessResult s = probe_sharpness(*probe_model_, ds_.train, eval_base_, so);
  e.probed = true;
  e.sharpness = s.lambda_max;
  e.two_over_lr = 2.0 / e.lr;
  std::printf("sharpness %.4g  2/lr %.4g  (%u images, %llu Hessian-vector products, %.1f s)\n", e.sharpness,
              e.two_over_lr, so.images, (unsigned long long)s.hvps, s.seconds);
}

void Run::print_epoch(const EpochResult& e) {
  if (ranks_.writer()) {
    metrics_ << epoch_json(e, !split_.val.empty()).dump() << "\n";
    metrics_.flush();
  }
  char reduce_share[64] = "";
  if (ranks_.size > 1)
    std::snprintf(reduce_share, sizeof reduce_share, "  all-reduce %.1f%%", 100.0 * e.allreduce_seconds / train_seconds_);
  char val[64] = "val_loss -  val_acc -";  // no validation set (metrics.jsonl: null)
  if (!split_.val.empty()) std::snprintf(val, sizeof val, "val_loss %.4f  val_acc %.4f", e.val_loss, e.val_acc);
  std::printf("epoch %u/%u  train_loss %.4f  train_acc %.4f  %s  lr %g  blur %.3g  %.1f s  %.0f img/s%s%s\n", e.epoch,
              cfg_.epochs, e.train_loss, e.train_acc, val, e.lr, e.blur_sigma, e.seconds, e.images_per_second,
              penalised_ ? ("  penalty " + short_number(e.penalty)).c_str() : "", reduce_share);
  if (cfg_.class_weights != "none" || balanced_ || cfg_.early_stop_metric == "val_balanced_acc")
    std::printf("  val_balanced_acc %.4f (mean per-class recall)\n", e.val_balanced_acc);
  std::fflush(stdout);
}

RunResult Run::go() {
  if (cfg_.print_plan) {
    std::fputs(model_->plan_text().c_str(), stdout);
    return {};
  }
  open_run();
  print_settings();
  // The starting loss, for the divergence rule: the initial weights on the
  // first (up to) 1024 images of the first epoch, evaluation mode.
  if (!cfg_.resume) {
    std::vector<uint32_t> order0 = cfg_.shuffle ? data::epoch_order(split_.train, cfg_.seed, 0) : split_.train;
    order0.resize(std::min<size_t>(order0.size(), 1024));
    stopping_->set_first_loss(evaluate_all(ds_.train, order0, eval_base_).mean_loss());
    save_checkpoint(0, "", 0);
  }
  const bool finished = !resumed_.stop_reason.empty();
  if (finished) {
    result_.stop_reason = resumed_.stop_reason;
    result_.best_epoch = resumed_.best_epoch;
  } else if (cfg_.resume) {
    result_.best_epoch = resumed_.epoch;
  }
  for (uint32_t epoch = resumed_.epoch; epoch < cfg_.epochs && !finished; ++epoch) {
    EpochResult e = run_epoch(epoch);
    // One download of the epoch's weights serves the penalty (host, double;
    // train_loss stays the data loss alone) and, if the epoch is good, the
    // fallback snapshot.
    Snapshot now;
    now.take(*model_, e.epoch);
    if (penalised_) e.penalty = model_->penalty(now.params);
    diverged_ = stopping_->divergence(e, now, !split_.val.empty());
    probe(e, now);
    lr_schedule_.end_epoch(split_.val.empty() ? e.train_loss : e.val_loss);
    print_epoch(e);
    result_.epochs.push_back(e);
    const std::string stop = stopping_->after_epoch(epoch, e, std::move(now), diverged_, *model_, result_);
    if (!stop.empty()) {
      result_.stop_reason = stop;
      break;
    }
    if (e.epoch % cfg_.checkpoint_every == 0 && e.epoch < cfg_.epochs) save_checkpoint(e.epoch, "", 0);
  }
  if (!finished) {
    stopping_->end(*model_, result_);
    save_checkpoint(uint32_t(result_.epochs.size()), result_.stop_reason, result_.best_epoch);
  }
  if (result_.stop_reason != "max_epochs")
    std::printf("stopped: %s; the run ends with %s\n", result_.stop_reason.c_str(),
                weights_name(result_.best_epoch).c_str());
  test_phase();
  if (cfg_.profile) print_profile();
  return write_results();
}

RunResult train(gpu::Context& ctx, const TrainConfig& cfg) {
  Run run(ctx, cfg);
  return run.go();
}

}  // namespace fovea::train
