// The end of a `fovea train` run (train/run.h): the test phase and its
// corruptions, the --profile table, summary.json and the report.
#include <algorithm>
#include <cstdio>

#include "gpu/context.h"
#include "report/report.h"
#include "report/samples.h"
#include "train/run.h"
#include "train/run_data.h"
#include "util/error.h"
#include "util/file.h"

namespace fovea::train {

// The test pass also counts the confusion matrix (rows: true class,
// columns: the argmax of the logits) for summary.json and the report.
void Run::test_phase() {
  const uint32_t K = spec_.classes;
  confusion_.assign(K, std::vector<uint64_t>(K, 0));
  // Without a test set the test phase evaluates no image (its figures are null).
  const data::ImageSet& test_set = ds_.test ? *ds_.test : ds_.train;
  if (!ds_.test) std::printf("test: %s has no test set; the test phase is skipped\n", cfg_.data_dir.c_str());
  const Totals te = evaluate_all(test_set, test_idx_, eval_base_, [&](size_t first, uint32_t rows, const float* logits) {
    for (uint32_t r = 0; r < rows; ++r) {
      const float* row = logits + size_t(r) * K;
      confusion_[test_set.labels[test_idx_[first + r]]][size_t(std::max_element(row, row + K) - row)]++;
    }
  });
  if (ranks_.size > 1) {
    std::vector<double> counts;
    for (const auto& row : confusion_) counts.insert(counts.end(), row.begin(), row.end());
    ranks_.comm->allreduce_sum(counts.data(), counts.size());
    for (size_t i = 0; i < counts.size(); ++i) confusion_[i / K][i % K] = uint64_t(counts[i]);
  }
  result_.test_loss = te.mean_loss();
  result_.test_acc = te.accuracy();
  result_.test_images = te.count;
  if (ds_.test)
    std::printf("test  loss %.4f  acc %.4f  (%llu images)\n", result_.test_loss, result_.test_acc,
                (unsigned long long)te.count);
  // Robustness: the same test images blurred, or with seeded noise (the
  // same noise in every run: the model's noise seed is fixed).
  auto corrupted = [&](const std::string& kind, double value, const Totals& t) {
    result_.corrupted.push_back({kind, value, t.mean_loss(), t.accuracy()});
    std::printf("test  %s %g  loss %.4f  acc %.4f\n", kind.c_str(), value, t.mean_loss(), t.accuracy());
  };
  for (double v : cfg_.test_blur) {
    nn::StepParams p = eval_base_;
    p.blur_sigma = float(v);
    corrupted("blur", v, evaluate_all(test_set, test_idx_, p));
  }
  for (double v : cfg_.test_noise) {
    nn::StepParams p = eval_base_;
    p.noise_std = float(v);
    corrupted("noise", v, evaluate_all(test_set, test_idx_, p));
  }
  for (const data::Corruption& c : corruptions_) {
    const auto& same = c.name == "blur" ? cfg_.test_blur : cfg_.test_noise;  // given twice: evaluated once
    if (c.on_gpu() && std::find(same.begin(), same.end(), c.value) != same.end()) continue;
    corrupted(c.name, c.value, evaluate_corrupted(c, test_set, test_idx_, eval_base_,
                                                  [&](const data::ImageSet& s, const nn::StepParams& p) {
                                                    return evaluate_all(s, test_idx_, p);
                                                  }));
  }
  for (double eps : cfg_.test_fgsm) {  // a copy of the final weights whose eval program attacks (nn/model.h)
    AttackedModel a = attacked_copy(ctx_, *model_, mo_, data::AdversarialConfig{eps, 1, 1});
    corrupted("fgsm", eps, evaluate_all(test_set, test_idx_, eval_base_, {}, &a));
  }
}

void Run::print_profile() const {
  const auto prof = session_->profile();
  double total = 0;
  for (const auto& p : prof) total += p.total_ms;
  const uint64_t n = std::max<uint64_t>(session_->profiled_steps(), 1);
  std::printf("GPU time per training step (%llu steps, device timestamps):\n",
              (unsigned long long)session_->profiled_steps());
  for (const auto& p : prof)
    std::printf("  %-40s %9.3f ms  %5.1f%%\n", p.label.c_str(), p.total_ms / double(n),
                total > 0 ? 100.0 * p.total_ms / total : 0.0);
  std::printf("  %-40s %9.3f ms\n", "total", total / double(n));
  if (mo_.data_parallel || mo_.accumulate)
    std::printf("  %-40s %9.3f ms  (host wall time between the two programs: MPI_Allreduce of %llu floats and copies)\n",
                "all-reduce", 1000.0 * (exchange_ ? exchange_->total_seconds() : 0.0) / double(n),
                (unsigned long long)model_->parameter_count());
}

nlohmann::json Run::summary() const {
  const TrainConfig& cfg = cfg_;
  nlohmann::json s = {
      {"test_loss", result_.test_loss}, {"test_acc", result_.test_acc},
      {"test_images", result_.test_images}, {"device", result_.device},
      {"device_type", gpu::device_type_name(ctx_.info().type)},
      {"command", cfg.command_line}, {"seed", cfg.seed}, {"model", cfg.model_path},
      {"data", cfg.data_dir}, {"epochs", cfg.epochs}, {"batch", cfg.batch}, {"lr", cfg.lr},
      {"limit", cfg.limit}, {"val_split", cfg.val_split}, {"shuffle", cfg.shuffle},
      {"init", cfg.init}, {"init_partial", cfg.init_partial}, {"freeze", cfg.freeze},
      {"loss", nlohmann::json::parse(nn::loss_json(spec_.loss))},
      {"lr_schedule", {{"schedule", lc_.schedule}, {"describe", lr_schedule_.describe()}}},
      {"sharpen", {{"schedule", schedule_.kind()}, {"describe", schedule_.describe()},
                   {"spec", cfg.sharpen.schedule}, {"sharpen_epochs", cfg.sharpen.sharpen_epochs},
                   {"levels", cfg.sharpen.levels},
                   {"sigma0", schedule_.sigma0()}, {"span_epochs", schedule_.span()},
                   {"replay", cfg.sharpen_replay}, {"feature_smoothing", cfg.feature_smoothing},
                   {"final_feature_sigma", eval_base_.feature_sigma}}},
      {"parameters", model_->parameter_count()},
      {"stop_reason", result_.stop_reason}, {"best_epoch", result_.best_epoch},
      {"epochs_run", result_.epochs.size()},
      {"train_images", split_.train.size()}, {"val_images", split_.val.size()},
      {"checkpoint_every", cfg.checkpoint_every}, {"world_size", ranks_.size}};
  if (cfg.resume) s["resumed_at_epoch"] = result_.resumed_at;
  if (!result_.epochs.empty()) {
    const bool no_val = split_.val.empty();
    s["final_val_acc"] = no_val ? nlohmann::json(nullptr) : nlohmann::json(result_.epochs.back().val_acc);
    s["val_balanced_acc"] = no_val ? nlohmann::json(nullptr) : nlohmann::json(result_.epochs.back().val_balanced_acc);
    s["images_per_second"] = result_.epochs.back().images_per_second;
  }
  nlohmann::json optimizer = {{"name", ops::optimizer_name(cfg.optim.kind)}};
  for (const auto& [name, value] : ops::optimizer_hyperparameters(cfg.optim))
    optimizer[name] = name == "centered" ? nlohmann::json(value != 0) : nlohmann::json(value);
  s["optimizer"] = optimizer;
  s["augment"] = {{"list", cfg.augment}, {"describe", data::describe_augment(augment_)}};
  s["class_weights"] = {{"setting", cfg.class_weights}, {"weights", mo_.class_weights}};
  s["sampler"] = cfg.sampler;
  const ops::RegularizeConfig& rc = cfg.regularize;
  s["regularize"] = {{"l1", rc.l1}, {"l2", rc.l2}, {"penalize_biases", rc.penalize_biases},
                     {"penalised_tensors", model_->penalty_terms().size()},
                     {"clip_norm", rc.clip_norm}, {"clip_value", rc.clip_value}};
  nlohmann::json corr = nlohmann::json::array();
  for (const auto& c : result_.corrupted)
    corr.push_back({{"corruption", c.corruption}, {"value", c.value}, {"loss", c.loss}, {"acc", c.acc}});
  s["test_corrupted"] = corr;
  s["test_confusion"] = confusion_;
  s["classes"] = ds_.classes;
  s["data_source"] = source_json(ds_, cfg);
  if (!ds_.test)
    for (const char* k : {"test_loss", "test_acc", "test_images", "test_confusion"}) s[k] = nullptr;
  return s;
}

// Rank 0 writes summary.json and the report (its sample grid blurs training
// images on the device), and reports a divergence.
RunResult Run::write_results() {
  if (!ranks_.writer()) return result_;
  write_atomically(out_ / "summary.json", summary().dump(2) + "\n");
  const report::ReportExtras extras = report::report_samples(ctx_, ds_.train, out_.string());
  std::printf("report: %s\n", report::write_report(out_.string(), extras).c_str());
  if (!diverged_.empty())
    throw Error("training diverged in epoch " + std::to_string(result_.epochs.size()) + " (" + diverged_ +
                "); " + (out_ / "model.safetensors").string() + " holds " + weights_name(result_.best_epoch) +
                "; try a smaller --lr");
  return result_;
}

}  // namespace fovea::train
