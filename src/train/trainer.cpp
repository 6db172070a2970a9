#include "train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "data/augment.h"
#include "data/idx.h"
#include "data/split.h"
#include "dist/comm.h"
#include "dist/sync_bn.h"
#include "gpu/context.h"
#include "gpu/recorder.h"
#include "nn/model.h"
#include "train/checkpoint.h"
#include "train/class_balance.h"
#include "report/samples.h"
#include "train/run_data.h"
#include "train/run_support.h"
#include "train/sharpness.h"
#include "train/evaluate.h"
#include "train/resolution_ladder.h"
#include "train/weights.h"
#include "util/error.h"
#include "util/file.h"

namespace fovea::train {

namespace fs = std::filesystem;

RunResult train(gpu::Context& ctx, const TrainConfig& cfg) {
  check_train_options(cfg);
  const data::SharpenSchedule schedule(cfg.sharpen, cfg.epochs);
  LrConfig lc = cfg.lr_schedule;
  lc.lr = cfg.lr;
  LrSchedule lr_schedule(lc, cfg.epochs);
  const std::vector<data::Corruption> corruptions = data::parse_corruptions(cfg.test_corrupt, "--test-corrupt");
  const bool balanced = balanced_sampler(cfg.sampler);
  const data::AugmentConfig augment = data::parse_augment(cfg.augment);
  const Ranks ranks(cfg.comm);
  check_accumulate(cfg, augment, ranks.size);
  check_batch_shards(cfg.batch, ranks.size);

  nn::ModelSpec spec = nn::load_model_spec(cfg.model_path);
  if (cfg.label_smoothing) spec = nn::with_label_smoothing(spec, *cfg.label_smoothing);
  const data::Source ds = open_data(cfg, spec);
  // Standardisation uses the whole training file, whatever --limit says.
  data::ChannelStats stats = data::channel_stats(ds.train);
  const data::Split split = run_split(cfg, ds);
  // Validation: the source's validation images, else the holdout of the training images.
  const data::ImageSet& val_set = ds.val ? *ds.val : ds.train;
  if (!ds.test && (!cfg.test_blur.empty() || !cfg.test_noise.empty() || !corruptions.empty() || !cfg.test_fgsm.empty()))
    throw Error(std::string(!cfg.test_blur.empty() ? "--test-blur" : !cfg.test_noise.empty() ? "--test-noise"
                            : !corruptions.empty() ? "--test-corrupt" : "--test-fgsm") +
                " evaluates the test set, and " + cfg.data_dir + " has none (no test/ folder or test rows)");
  if ((cfg.early_stop > 0 || cfg.target_acc > 0) && split.val.empty())
    throw Error(std::string(cfg.early_stop > 0 ? "--early-stop" : "--target-acc") +
                " watches the validation set, and --val-split 0 leaves none");
  // Without a test set the test phase evaluates no image (its figures are null).
  const data::ImageSet& test_set = ds.test ? *ds.test : ds.train;
  const std::vector<uint32_t> test_idx = ds.test ? all_images(*ds.test) : std::vector<uint32_t>{};

  fs::path out(cfg.out_dir);
  const fs::path checkpoint_path = out / "checkpoint.safetensors";
  check_out_dir(out, cfg.resume, ranks.writer());
  if (cfg.sharpness_every > 0 && (cfg.sharpness_images == 0 || cfg.sharpness_images > ds.train.count))
    throw Error("--sharpness-images " + std::to_string(cfg.sharpness_images) + " is not in [1, " +
                std::to_string(ds.train.count) + "] (the training images in " + ds.train.images_path + ")");

  nn::ModelOptions mo;
  mo.class_weights = class_weights(cfg.class_weights, ds.train.labels, split.train, spec.classes);
  if (!mo.class_weights.empty() && ranks.size > 1)
    throw Error("--class-weights is not implemented for data-parallel runs (each rank would divide by its own "
                "shard's weight sum)");
  mo.batch = cfg.batch / ranks.size;  // this rank's shard of the global batch
  mo.pruned = cfg.pruned;
  mo.data_parallel = ranks.size > 1;
  mo.sync_bn = cfg.sync_bn && mo.data_parallel;  // one rank's statistics are the batch's already
  mo.accumulate = cfg.accumulate > 1;
  mo.read_logits = true;  // the test pass counts the confusion matrix
  mo.optim = cfg.optim;
  mo.regularize = cfg.regularize;
  mo.channel_mean = stats.mean;
  mo.channel_std = stats.std;
  mo.blur_replay = cfg.sharpen_replay;
  mo.train_blur = schedule.active();  // sigma 0 throughout: no blur passes at all
  mo.feature_smoothing = cfg.feature_smoothing;
  mo.augment = augment;
  mo.frozen = frozen_layers(spec, cfg.freeze);
  nn::Model model(ctx, spec, mo);
  model.init_parameters(cfg.seed);
  if (cfg.init_partial && cfg.init.empty()) throw Error("--init-partial needs --init FILE");
  if (!cfg.init.empty()) cfg.init_partial ? load_weights_partial(model, cfg.init) : load_weights(model, cfg.init);
  // --sharpen pyramid: the models and images of the levels below full size.
  std::unique_ptr<ResolutionLadder> ladder;
  if (schedule.kind() == "pyramid") {
    if (ranks.size > 1) throw Error("--sharpen pyramid trains one process (not mpirun)");
    if (cfg.accumulate > 1) throw Error("--sharpen pyramid trains without --accumulate");
    ladder = std::make_unique<ResolutionLadder>(ctx, spec, mo, schedule, cfg.epochs, ds.train, model);
  }
  if (cfg.print_plan) {
    std::fputs(model.plan_text().c_str(), stdout);
    return {};
  }
  RunResult result;
  CheckpointState resumed;
  if (cfg.resume) {
    resumed = read_checkpoint(checkpoint_path.string(), model);
    if (resumed.world_size != ranks.size)
      throw Error("--resume: the run in " + out.string() + " was trained by " + std::to_string(resumed.world_size) +
                  " rank(s); resume it with as many (mpirun -np " + std::to_string(resumed.world_size) +
                  "), not " + std::to_string(ranks.size));
    // summary.json, then report.html end a run (atomically): one killed before its report redoes the test and both.
    if (!resumed.stop_reason.empty() && fs::exists(out / "summary.json") && fs::exists(out / "report.html"))
      throw Error("--resume: the run in " + out.string() + " is finished (" + resumed.stop_reason +
                  " after epoch " + std::to_string(resumed.epoch) + "); nothing to resume");
    result.epochs = cut_metrics(out / "metrics.jsonl", resumed.epoch, ranks.writer());
    result.resumed_at = resumed.epoch;
  }
  // Only now, with data, model and weights in place, does the run directory
  // get its files: a bad input leaves nothing behind.
  // Only rank 0 writes.
  std::ofstream metrics;
  if (ranks.writer()) {
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) throw Error("cannot create output directory " + out.string() + ": " + ec.message());
    metrics.open(out / "metrics.jsonl", cfg.resume ? std::ios::app : std::ios::trunc);
    if (!metrics) throw Error("cannot write " + (out / "metrics.jsonl").string());
  }
  gpu::Replayer train_step(model.train_program(), model.slots(), cfg.profile);
  gpu::Replayer eval_step(model.eval_program(), model.slots());
  std::unique_ptr<gpu::Replayer> update_step;  // data-parallel: the step after the all-reduce
  if (mo.data_parallel || mo.accumulate)
    update_step = std::make_unique<gpu::Replayer>(model.update_program(), model.slots(), cfg.profile);
  // Synchronised BatchNorm: the training step's later programs, each run
  // after the host summed the partials the one before left (sync_exchanges).
  std::vector<std::unique_ptr<gpu::Replayer>> sync_steps;
  for (gpu::Program* p : model.train_programs())
    if (p != &model.train_program()) sync_steps.push_back(std::make_unique<gpu::Replayer>(*p, model.slots(), cfg.profile));
  std::unique_ptr<dist::BatchNormSync> bn_sync;
  if (!sync_steps.empty()) bn_sync = std::make_unique<dist::BatchNormSync>(*ranks.comm);
  // Evaluation is sharded like training: each rank runs its share of the
  // images (noise keyed by their position in the whole pass), the sums are
  // reduced over the ranks.
  auto evaluate_all = [&](const data::ImageSet& set, const std::vector<uint32_t>& indices, nn::StepParams base,
                          const LogitsSink& sink = {}, AttackedModel* attacked = nullptr) {
    const size_t a = ranks.begin(indices.size()), b = ranks.end(indices.size());
    const std::vector<uint32_t> mine(indices.begin() + a, indices.begin() + b);
    base.first_image += uint32_t(a);
    LogitsSink shifted;
    if (sink) shifted = [&](size_t first, uint32_t rows, const float* logits) { sink(a + first, rows, logits); };
    return ranks.reduce(attacked ? evaluate(*attacked->model, *attacked->step, set, mine, base, shifted)
                                 : evaluate(model, eval_step, set, mine, base, shifted));
  };
  // The sharpness probe runs on a model of its own (the probe programs),
  // given the epoch's weights; training records and pays nothing for it.
  std::unique_ptr<nn::Model> probe_model;
  if (cfg.sharpness_every > 0) {
    nn::ModelOptions pmo = mo;
    pmo.slots = 1;
    pmo.augment = {};
    pmo.probe = true;
    pmo.data_parallel = false;  // every rank probes the same weights alike
    probe_model = std::make_unique<nn::Model>(ctx, spec, pmo);
  }

  result.device = ctx.info().name;
  std::printf("optimizer: %s\n", ops::describe_optimizer(cfg.optim).c_str());
  const bool penalised = !model.penalty_terms().empty();
  const ops::RegularizeConfig& rc = cfg.regularize;
  if (penalised || rc.clip_norm > 0 || rc.clip_value > 0)
    std::printf("regularize: %zu penalised tensors (global l1 %g, l2 %g%s), clip-norm %g, clip-value %g\n",
                model.penalty_terms().size(), rc.l1, rc.l2, rc.penalize_biases ? ", biases too" : "",
                rc.clip_norm, rc.clip_value);
  if (lc.schedule != "constant" || lc.warmup_epochs > 0)
    std::printf("lr: %s\n", lr_schedule.describe().c_str());
  if (schedule.active())
    std::printf("sharpen: %s%s%s\n", schedule.describe().c_str(),
                cfg.sharpen_replay > 0 ? (", replay " + std::to_string(cfg.sharpen_replay)).c_str() : "",
                cfg.feature_smoothing ? ", feature smoothing" : "");
  if (augment.any() || augment.adversarial.any()) std::printf("augment: %s\n", data::describe_augment(augment).c_str());
  uint32_t step = resumed.step;
  // The optimizer's step count is step + 1: its state starts at zeros in
  // every run, --init or not, as a fresh torch.optim optimizer (a resumed
  // run takes it from the checkpoint).
  ops::OptimCoefficients optim_coefficients(cfg.optim);
  // The schedule drives the input blur and, with --feature-smoothing, the
  // conv feature maps too; evaluation keeps the last step's feature sigma
  // (the network as trained) and never blurs its images.
  nn::StepParams eval_base;
  eval_base.seed = uint32_t(cfg.seed);
  eval_base.feature_sigma = float(resumed.feature_sigma);
  // The last weights known good (divergence falls back to them) and the
  // best ones (early stopping ends with them).
  Snapshot good, best;
  good.take(model, resumed.epoch);
  if (resumed.has_best) {
    best.params = resumed.best_params, best.state = resumed.best_state;
    best.batches_tracked = resumed.best_batches_tracked, best.epoch = resumed.best_epoch;
  }
  double best_metric = resumed.best_metric;
  uint32_t since_best = resumed.since_best;
  lr_schedule.set_state(resumed.lr);
  // The starting loss, for the divergence rule: the initial weights on the
  // first (up to) 1024 images of the first epoch, evaluation mode.
  double first_loss = resumed.first_loss;
  if (!cfg.resume) {
    std::vector<uint32_t> order0 = cfg.shuffle ? data::epoch_order(split.train, cfg.seed, 0) : split.train;
    order0.resize(std::min<size_t>(order0.size(), 1024));
    first_loss = evaluate_all(ds.train, order0, eval_base).mean_loss();
  }
  // A checkpoint of the run as it stands after `epochs` epochs; model.safetensors
  // gets the same weights. Both are written atomically.
  auto save_checkpoint = [&](uint32_t epochs, const std::string& stop_reason, uint32_t final_epoch) {
    if (!ranks.writer()) return;
    CheckpointState c;
    c.world_size = ranks.size, c.epoch = epochs, c.step = step;
    c.batches_tracked = model.batches_tracked();
    c.first_loss = first_loss;
    c.feature_sigma = eval_base.feature_sigma;
    c.lr = lr_schedule.state();
    c.has_best = stop_reason.empty() && !best.params.empty();
    c.best_epoch = stop_reason.empty() ? best.epoch : final_epoch;
    if (c.has_best) c.best_params = best.params, c.best_state = best.state;
    c.best_batches_tracked = best.batches_tracked;
    c.best_metric = best_metric, c.since_best = since_best;
    c.stop_reason = stop_reason;
    c.args = cfg.args, c.command = cfg.command_line;
    write_checkpoint(checkpoint_path.string(), (out / "model.safetensors").string(), model, stats.mean,
                     stats.std, c);
  };
  if (!cfg.resume) save_checkpoint(0, "", 0);
  std::string diverged;
  const bool finished = !resumed.stop_reason.empty();
  if (finished) {
    result.stop_reason = resumed.stop_reason;
    result.best_epoch = resumed.best_epoch;
  } else if (cfg.resume) {
    result.best_epoch = resumed.epoch;
  }
  double allreduce_total = 0;  // seconds, this process's run
  for (uint32_t epoch = resumed.epoch; epoch < cfg.epochs && !finished; ++epoch) {
    std::vector<uint32_t> order =
        balanced      ? balanced_order(split.train, ds.train.labels, spec.classes, cfg.seed, epoch)
        : cfg.shuffle ? data::epoch_order(split.train, cfg.seed, epoch)
                      : split.train;
    // The epoch's training model, its step and images: a pyramid level's below full size
    // (the copies in and out count in the epoch's seconds).
    const auto epoch_start = Clock::now();
    ResolutionLadder::Level* level = ladder ? ladder->enter(epoch, model) : nullptr;
    nn::Model& tm = level ? *level->model : model;
    gpu::Replayer& tstep = level ? *level->step : train_step;
    const data::ImageSet& timages = level ? level->images : ds.train;
    zero_sums(tm.train_sums(), tm.slots());
    Progress bar(cfg.progress, epoch + 1, cfg.epochs, order.size());
    auto t0 = Clock::now();
    double allreduce_seconds = 0;
    // One optimizer step per global batch; with --accumulate N it is N
    // micro-batches of --batch rows, each a pass of the train program.
    const size_t step_batch = size_t(cfg.batch) * cfg.accumulate;
    for (size_t first = 0; first < order.size(); first += step_batch) {
      const uint32_t global_rows = uint32_t(std::min<size_t>(step_batch, order.size() - first));
      const uint32_t step_index = step++;
      nn::StepParams p;
      for (uint32_t micro_first = 0; micro_first < global_rows; micro_first += cfg.batch) {
      // This rank's shard of the global batch (all of it with one process), or this micro-batch.
      const uint32_t skip = cfg.accumulate > 1 ? micro_first : uint32_t(ranks.begin(global_rows));
      const uint32_t rows = cfg.accumulate > 1 ? std::min(cfg.batch, global_rows - micro_first)
                                               : uint32_t(ranks.end(global_rows)) - skip;
      uint32_t slot = tstep.acquire();
      if (bar.due(first)) {
        // This slot's sums are complete here (its fence was waited on); they
        // stand for the epoch so far. Read only when the bar redraws.
        ops::MetricSums seen;
        std::memcpy(&seen, tm.train_sums().host(slot), sizeof seen);
        Totals partial;
        partial.add(seen);
        bar.update(first, seconds_since(t0), partial.mean_loss(), partial.accuracy());
      }
      const double sigma = schedule.sigma(epoch + double(first) / double(order.size()));
      p = nn::StepParams{};
      p.lr = float(lr_schedule.rate(epoch + double(first) / double(order.size())));
      const auto k = optim_coefficients.at(uint64_t(step_index) + 1, p.lr);  // the rate the kernel reads
      std::copy(k.begin(), k.end(), p.optim);
      p.step = step_index;
      p.rows = rows;
      p.seed = uint32_t(cfg.seed);
      p.slot = slot;
      p.blur_sigma = float(sigma);
      p.feature_sigma = cfg.feature_smoothing ? float(sigma) : 0.0f;
      eval_base.feature_sigma = p.feature_sigma;
      if (ranks.size > 1 || cfg.accumulate > 1) {
        // The loss divides by the global batch, so the gradients sum to its
        // gradient; random layers and augmentation key their draws by the
        // global row, so they draw what one process (one batch) would.
        p.loss_rows = global_rows;
        p.first_row = skip;
        p.shard_rows = model.batch();
      }
      fill_slot(tm, timages, order.data() + first + skip, rows, slot, p);
      if (augment.mixing()) {
        // This step's mixup / cutmix draw, after the labels (the GPU reads it there).
        const data::MixDraw mix = data::draw_mix(augment, cfg.seed, p.step, rows, timages.height, timages.width);
        std::memcpy(static_cast<uint32_t*>(tm.labels_ring().host(slot)) + tm.batch(), &mix, sizeof mix);
      }
      tstep.submit(slot);
      if (update_step && cfg.accumulate == 1) {
        // Wait for this rank's gradient, sum it over the ranks (in the
        // readback slot), hand the sum back and take the step.
        train_step.finish();
        for (size_t i = 0; i < sync_steps.size(); ++i) {
          const nn::SyncExchange& e = model.sync_exchanges()[i];
          const auto tb = Clock::now();
          const auto* part = static_cast<const float*>(e.partials.host(slot));
          auto* summed = static_cast<float*>(e.summed.host(slot));
          if (e.backward)
            bn_sync->backward(e.layer, part, e.channels, e.chunks, double(rows) * e.plane, summed);
          else
            bn_sync->forward(e.layer, part, e.channels, e.chunks, double(rows) * e.plane,
                             double(global_rows) * e.plane, summed);
          allreduce_seconds += seconds_since(tb);
          if (sync_steps[i]->acquire() != slot) throw Error("internal: a --sync-bn program's slot is not the step's");
          sync_steps[i]->submit(slot);
          sync_steps[i]->finish();
        }
        const auto ta = Clock::now();
        float* grads = static_cast<float*>(model.gradients_out().host(slot));
        ranks.comm->allreduce_sum(grads, model.parameter_count());
        std::memcpy(model.gradients_in().host(slot), grads, model.parameter_count() * sizeof(float));
        allreduce_seconds += seconds_since(ta);
        if (update_step->acquire() != slot) throw Error("internal: the update step's slot is not the step's");
        update_step->submit(slot);
        update_step->finish();
      }
      tm.set_batches_tracked(tm.batches_tracked() + 1);
      }
      if (cfg.accumulate > 1) run_update(model, train_step, *update_step, p);
    }
    tstep.finish();
    double train_seconds = seconds_since(t0);
    Totals tr = ranks.reduce(read_sums(tm.train_sums(), tm.slots()));
    if (level) ResolutionLadder::leave(*level, model);
    if (tr.count != order.size())
      throw Error("internal: the GPU counted " + std::to_string(tr.count) + " training images, expected " +
                  std::to_string(order.size()));
    bar.update(order.size(), train_seconds, tr.mean_loss(), tr.accuracy());
    bar.done();
    ClassRecall recall(spec.classes);
    Totals va = evaluate_all(val_set, split.val, eval_base, [&](size_t first, uint32_t rows, const float* logits) {
      for (uint32_t r = 0; r < rows; ++r)
        recall.add(val_set.labels[split.val[first + r]], logits + size_t(r) * spec.classes);
    });
    if (ranks.size > 1) {
      ranks.comm->allreduce_sum(recall.correct.data(), recall.correct.size());
      ranks.comm->allreduce_sum(recall.count.data(), recall.count.size());
    }

    EpochResult e;
    e.epoch = epoch + 1;
    e.train_loss = tr.mean_loss();
    e.train_acc = tr.accuracy();
    e.val_loss = va.mean_loss();
    e.val_acc = va.accuracy();
    e.val_balanced_acc = recall.balanced_accuracy();
    e.lr = lr_schedule.rate(epoch);
    e.blur_sigma = schedule.sigma(epoch);
    if (ladder) e.input_size = {timages.height, timages.width};
    e.seconds = seconds_since(epoch_start);
    e.images_per_second = double(order.size()) / train_seconds;
    e.train_images = order.size();
    e.val_images = split.val.size();
    e.allreduce_seconds = allreduce_seconds;
    allreduce_total += allreduce_seconds;
    // The penalty is computed on the host in double from the epoch's final
    // weights; train_loss stays the data loss alone.
    // One download of the epoch's weights serves the penalty and, if the
    // epoch is good, the fallback snapshot.
    Snapshot now;
    now.take(model, e.epoch);
    if (penalised) e.penalty = model.penalty(now.params);
    if (!std::isfinite(e.train_loss) || (!split.val.empty() && !std::isfinite(e.val_loss)))
      diverged = "the loss is not finite";
    else if (!all_finite(now.params) || !all_finite(now.state))  // made by a step no loss has seen yet
      diverged = "a weight is not finite (NaN or Inf) after the epoch's last step";
    else if (e.train_loss > cfg.divergence_factor * first_loss)
      diverged = "the training loss " + short_number(e.train_loss) + " exceeds " +
                 short_number(cfg.divergence_factor) + " x the starting loss " + short_number(first_loss);
    if (probe_model && diverged.empty() && e.epoch % cfg.sharpness_every == 0) {
      probe_model->upload_parameters(now.params);
      probe_model->upload_state(now.state);
      SharpnessOptions so;
      so.images = cfg.sharpness_images;
      so.trace_probes = so.jacobian_probes = 0;
      so.seed = cfg.seed;
      const SharpnessResult s = probe_sharpness(*probe_model, ds.train, eval_base, so);
      e.probed = true;
      e.sharpness = s.lambda_max;
      e.two_over_lr = 2.0 / e.lr;
      std::printf("sharpness %.4g  2/lr %.4g  (%u images, %llu Hessian-vector products, %.1f s)\n", e.sharpness,
                  e.two_over_lr, so.images, (unsigned long long)s.hvps, s.seconds);
    }
    lr_schedule.end_epoch(split.val.empty() ? e.train_loss : e.val_loss);
    if (ranks.writer()) {
      metrics << epoch_json(e, !split.val.empty()).dump() << "\n";
      metrics.flush();
    }
    char reduce_share[64] = "";
    if (ranks.size > 1)
      std::snprintf(reduce_share, sizeof reduce_share, "  all-reduce %.1f%%", 100.0 * allreduce_seconds / train_seconds);
    char val[64] = "val_loss -  val_acc -";  // no validation set (metrics.jsonl: null)
    if (!split.val.empty()) std::snprintf(val, sizeof val, "val_loss %.4f  val_acc %.4f", e.val_loss, e.val_acc);
    std::printf("epoch %u/%u  train_loss %.4f  train_acc %.4f  %s  lr %g  blur %.3g  %.1f s  %.0f img/s%s%s\n",
                e.epoch, cfg.epochs, e.train_loss, e.train_acc, val, e.lr,
                e.blur_sigma, e.seconds, e.images_per_second,
                penalised ? ("  penalty " + short_number(e.penalty)).c_str() : "", reduce_share);
    if (cfg.class_weights != "none" || balanced || cfg.early_stop_metric == "val_balanced_acc")
      std::printf("  val_balanced_acc %.4f (mean per-class recall)\n", e.val_balanced_acc);
    std::fflush(stdout);
    result.epochs.push_back(e);
    if (!diverged.empty()) {
      good.restore(model);
      result.stop_reason = "diverged";
      result.best_epoch = good.epoch;
      break;
    }
    good = std::move(now);
    result.best_epoch = e.epoch;
    if (cfg.early_stop > 0) {
      const bool by_acc = cfg.early_stop_metric != "val_loss";
      const double v = cfg.early_stop_metric == "val_balanced_acc" ? e.val_balanced_acc
                       : by_acc                                    ? e.val_acc
                                                                   : e.val_loss;
      if (epoch == 0 || (by_acc ? v > best_metric + cfg.early_stop_delta : v < best_metric - cfg.early_stop_delta)) {
        best_metric = v;
        best = good;
        since_best = 0;
      } else if (++since_best >= cfg.early_stop) {
        result.stop_reason = "early_stopping";
        break;
      }
    }
    const bool reached = cfg.target_acc > 0 && e.val_acc >= cfg.target_acc;
    if (reached || (cfg.on_epoch && !cfg.on_epoch(e))) {
      result.stop_reason = reached ? "target_accuracy" : "abandoned";
      break;
    }
    if (e.epoch % cfg.checkpoint_every == 0 && e.epoch < cfg.epochs) save_checkpoint(e.epoch, "", 0);
  }
  if (!finished) {
    if (cfg.early_stop > 0 && result.stop_reason != "diverged" && best.epoch != good.epoch) {
      best.restore(model);
      result.best_epoch = best.epoch;
    }
    save_checkpoint(uint32_t(result.epochs.size()), result.stop_reason, result.best_epoch);
  }
  if (result.stop_reason != "max_epochs")
    std::printf("stopped: %s; the run ends with %s\n", result.stop_reason.c_str(),
                weights_name(result.best_epoch).c_str());

  // The test pass also counts the confusion matrix (rows: true class,
  // columns: the argmax of the logits) for summary.json and the report.
  const uint32_t K = spec.classes;
  std::vector<std::vector<uint64_t>> confusion(K, std::vector<uint64_t>(K, 0));
  if (!ds.test) std::printf("test: %s has no test set; the test phase is skipped\n", cfg.data_dir.c_str());
  Totals te = evaluate_all(test_set, test_idx, eval_base, [&](size_t first, uint32_t rows, const float* logits) {
    for (uint32_t r = 0; r < rows; ++r) {
      const float* row = logits + size_t(r) * K;
      confusion[test_set.labels[test_idx[first + r]]][size_t(std::max_element(row, row + K) - row)]++;
    }
  });
  if (ranks.size > 1) {
    std::vector<double> counts;
    for (const auto& row : confusion) counts.insert(counts.end(), row.begin(), row.end());
    ranks.comm->allreduce_sum(counts.data(), counts.size());
    for (size_t i = 0; i < counts.size(); ++i) confusion[i / K][i % K] = uint64_t(counts[i]);
  }
  result.test_loss = te.mean_loss();
  result.test_acc = te.accuracy();
  result.test_images = te.count;
  if (ds.test)
    std::printf("test  loss %.4f  acc %.4f  (%llu images)\n", result.test_loss, result.test_acc,
                (unsigned long long)te.count);
  // Robustness: the same test images blurred, or with seeded noise (the
  // same noise in every run: the model's noise seed is fixed).
  auto corrupted = [&](const std::string& kind, double value, const Totals& t) {
    result.corrupted.push_back({kind, value, t.mean_loss(), t.accuracy()});
    std::printf("test  %s %g  loss %.4f  acc %.4f\n", kind.c_str(), value, t.mean_loss(), t.accuracy());
  };
  for (double v : cfg.test_blur) {
    nn::StepParams p = eval_base;
    p.blur_sigma = float(v);
    corrupted("blur", v, evaluate_all(test_set, test_idx, p));
  }
  for (double v : cfg.test_noise) {
    nn::StepParams p = eval_base;
    p.noise_std = float(v);
    corrupted("noise", v, evaluate_all(test_set, test_idx, p));
  }
  for (const data::Corruption& c : corruptions) {
    const auto& same = c.name == "blur" ? cfg.test_blur : cfg.test_noise;  // given twice: evaluated once
    if (c.on_gpu() && std::find(same.begin(), same.end(), c.value) != same.end()) continue;
    corrupted(c.name, c.value, evaluate_corrupted(c, test_set, test_idx, eval_base,
                                                  [&](const data::ImageSet& s, const nn::StepParams& p) {
                                                    return evaluate_all(s, test_idx, p);
                                                  }));
  }
  for (double eps : cfg.test_fgsm) {  // a copy of the final weights whose eval program attacks (nn/model.h)
    AttackedModel a = attacked_copy(ctx, model, mo, data::AdversarialConfig{eps, 1, 1});
    corrupted("fgsm", eps, evaluate_all(test_set, test_idx, eval_base, {}, &a));
  }

  if (cfg.profile) {
    auto prof = train_step.profile();
    for (const auto& r : sync_steps)
      for (const auto& p : r->profile()) prof.push_back(p);
    if (update_step)
      for (const auto& p : update_step->profile()) prof.push_back(p);
    double total = 0;
    for (const auto& p : prof) total += p.total_ms;
    uint64_t n = std::max<uint64_t>(train_step.profiled_steps(), 1);
    std::printf("GPU time per training step (%llu steps, device timestamps):\n",
                (unsigned long long)train_step.profiled_steps());
    for (const auto& p : prof)
      std::printf("  %-40s %9.3f ms  %5.1f%%\n", p.label.c_str(), p.total_ms / double(n),
                  total > 0 ? 100.0 * p.total_ms / total : 0.0);
    std::printf("  %-40s %9.3f ms\n", "total", total / double(n));
    if (update_step)
      std::printf("  %-40s %9.3f ms  (host wall time between the two programs: MPI_Allreduce of %llu floats and copies)\n",
                  "all-reduce", 1000.0 * allreduce_total / double(n), (unsigned long long)model.parameter_count());
  }

  nlohmann::json summary = {
      {"test_loss", result.test_loss}, {"test_acc", result.test_acc},
      {"test_images", result.test_images}, {"device", result.device},
      {"device_type", gpu::device_type_name(ctx.info().type)},
      {"command", cfg.command_line}, {"seed", cfg.seed}, {"model", cfg.model_path},
      {"data", cfg.data_dir}, {"epochs", cfg.epochs}, {"batch", cfg.batch}, {"lr", cfg.lr},
      {"limit", cfg.limit}, {"val_split", cfg.val_split}, {"shuffle", cfg.shuffle},
      {"init", cfg.init}, {"init_partial", cfg.init_partial}, {"freeze", cfg.freeze},
      {"loss", nlohmann::json::parse(nn::loss_json(spec.loss))},
      {"lr_schedule", {{"schedule", lc.schedule}, {"describe", lr_schedule.describe()}}},
      {"sharpen", {{"schedule", schedule.kind()}, {"describe", schedule.describe()},
                   {"spec", cfg.sharpen.schedule}, {"sharpen_epochs", cfg.sharpen.sharpen_epochs},
                   {"levels", cfg.sharpen.levels},
                   {"sigma0", schedule.sigma0()}, {"span_epochs", schedule.span()},
                   {"replay", cfg.sharpen_replay}, {"feature_smoothing", cfg.feature_smoothing},
                   {"final_feature_sigma", eval_base.feature_sigma}}},
      {"parameters", model.parameter_count()},
      {"stop_reason", result.stop_reason}, {"best_epoch", result.best_epoch},
      {"epochs_run", result.epochs.size()},
      {"train_images", split.train.size()}, {"val_images", split.val.size()},
      {"checkpoint_every", cfg.checkpoint_every}, {"world_size", ranks.size}};
  if (cfg.resume) summary["resumed_at_epoch"] = result.resumed_at;
  if (!result.epochs.empty()) {
    summary["final_val_acc"] = split.val.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.epochs.back().val_acc);
    summary["val_balanced_acc"] =
        split.val.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.epochs.back().val_balanced_acc);
    summary["images_per_second"] = result.epochs.back().images_per_second;
  }
  nlohmann::json optimizer = {{"name", ops::optimizer_name(cfg.optim.kind)}};
  for (const auto& [name, value] : ops::optimizer_hyperparameters(cfg.optim))
    optimizer[name] = name == "centered" ? nlohmann::json(value != 0) : nlohmann::json(value);
  summary["optimizer"] = optimizer;
  summary["augment"] = {{"list", cfg.augment}, {"describe", data::describe_augment(augment)}};
  summary["class_weights"] = {{"setting", cfg.class_weights}, {"weights", mo.class_weights}};
  summary["sampler"] = cfg.sampler;
  summary["regularize"] = {{"l1", rc.l1}, {"l2", rc.l2}, {"penalize_biases", rc.penalize_biases},
                           {"penalised_tensors", model.penalty_terms().size()},
                           {"clip_norm", rc.clip_norm}, {"clip_value", rc.clip_value}};
  nlohmann::json corr = nlohmann::json::array();
  for (const auto& c : result.corrupted)
    corr.push_back({{"corruption", c.corruption}, {"value", c.value}, {"loss", c.loss}, {"acc", c.acc}});
  summary["test_corrupted"] = corr;
  summary["test_confusion"] = confusion;
  summary["classes"] = ds.classes;
  summary["data_source"] = source_json(ds, cfg);
  if (!ds.test)
    for (const char* k : {"test_loss", "test_acc", "test_images", "test_confusion"}) summary[k] = nullptr;
  if (!ranks.writer()) return result;  // rank 0 writes the summary and the report, and reports a divergence
  write_atomically(out / "summary.json", summary.dump(2) + "\n");
  const report::ReportExtras extras = report::report_samples(ctx, ds.train, out.string());
  std::printf("report: %s\n", report::write_report(out.string(), extras).c_str());
  if (!diverged.empty())
    throw Error("training diverged in epoch " + std::to_string(result.epochs.size()) + " (" + diverged +
                "); " + (out / "model.safetensors").string() + " holds " + weights_name(result.best_epoch) +
                "; try a smaller --lr");
  return result;
}

}  // namespace fovea::train
