// `fovea audit`: a run's training images ranked by how likely their label is
// wrong, from the run's own predictions (in-sample) or, with --folds K,
// from K models trained with the run's settings on the other folds.
#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "cli/train_options.h"
#include "data/split.h"
#include "io/atomic_file.h"
#include "train/audit.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "util/error.h"

namespace fovea::cli {

namespace {

namespace fs = std::filesystem;

class Audit final : public Command {
 public:
  explicit Audit(CLI::App& app)
      : Command(app.add_subcommand("audit", "Rank a run's training images by how likely their label is wrong "
                                            "(suspect labels, per-class accuracy and loss)")) {
    add_run_option(sub_, run_)->required();
    add_data_option(sub_, data_, true);
    sub_->add_option("--top", top_, "Show this many of the most suspect images in RUN/audit.html (20 at most are printed)")->capture_default_str();
    sub_->add_option("--folds", folds_,
                     "Out-of-sample predictions: train K models with the run's settings, each on the other K-1 "
                     "folds of its training images (0 = the run's own, in-sample predictions)")
        ->capture_default_str();
    add_device_options(sub_, device_);
  }

  int run(const std::vector<std::string>&) override {
    if (top_ == 0) throw Error("--top must be at least 1");
    if (folds_ == 1) throw Error("--folds must be 0 (in-sample) or at least 2, got 1");
    const train::RunInfo run = train::load_run(run_);
    auto ctx = open_context(device_);
    train::EvalOptions eo;
    eo.split = "train";
    eo.logits = true;
    eo.data_dir = data_;
    const train::EvalResult e = train::evaluate_run(*ctx, run, eo);
    const data::Source ds = train::open_run_data(run, data_, false);
    train::AuditResult r;
    const uint32_t K = run.spec.classes;
    if (folds_ == 0) {
      for (size_t i = 0; i < e.indices.size(); ++i)
        r.images.push_back(train::audit_row(e.indices[i], e.labels[i], &e.logits[i * K], K));
    } else {
      r.in_sample = false;
      r.folds = folds_;
      out_of_sample(*ctx, run, ds, e, r);
    }
    train::finish_audit(r, K);
    std::printf("%s", train::audit_table(r, run.classes, std::min<uint32_t>(top_, 20)).c_str());
    const std::string json = (fs::path(run.dir) / "audit.json").string();
    const std::string html = (fs::path(run.dir) / "audit.html").string();
    io::write_file_atomically(json, train::audit_json(r, run.classes));
    io::write_file_atomically(html, train::audit_html(r, run.classes, ds.train, top_, run.dir));
    std::printf("wrote %s (%zu images) and %s (the top %u)\n", json.c_str(), r.images.size(), html.c_str(),
                std::min<uint32_t>(top_, uint32_t(r.images.size())));
    return finish_validation(*ctx);
  }

 private:
  // The run's settings, as `fovea train --resume` reads them from its checkpoint.
  train::TrainConfig run_config(const train::RunInfo& run) {
    std::vector<std::string> args = {"fovea", "train"};
    for (const std::string& a : train::checkpoint_args(run.dir)) args.push_back(a);
    CLI::App app;
    CLI::App* train = app.add_subcommand("train");
    auto opts = std::make_unique<TrainOptions>();
    add_train_options(train, *opts);
    try {
      std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);
      app.parse(reversed);
    } catch (const CLI::ParseError& err) {
      throw Error(run.dir + "/checkpoint.safetensors: its settings do not parse (" + err.what() + ")");
    }
    resolve_train_options(*opts, args, "");
    opts->cfg.progress = false;
    opts->cfg.args.clear();
    if (!data_.empty()) opts->cfg.data_dir = data_;
    return opts->cfg;
  }

  // K-fold models on the run's training images; each predicts its held-out fold.
  void out_of_sample(gpu::Context& ctx, const train::RunInfo& run, const data::Source& ds, const train::EvalResult& e,
                     train::AuditResult& r) {
    const train::TrainConfig base_cfg = run_config(run);
    data::CvSettings cv;
    cv.protocol = data::Protocol::kfold;
    cv.folds = folds_;
    const std::vector<data::CvSplit> splits = data::make_cv_splits(e.indices, e.labels, cv, run.seed);
    const fs::path dir = fs::path(run.dir) / "audit-folds";
    fs::remove_all(dir);
    const uint32_t K = run.spec.classes;
    for (const data::CvSplit& s : splits) {
      train::TrainConfig cfg = base_cfg;
      cfg.split = s.split;
      cfg.out_dir = (dir / ("fold-" + std::to_string(s.fold + 1))).string();
      std::printf("fold %u/%u: training on %zu images, predicting %zu\n", s.fold + 1, folds_, s.split.train.size(),
                  s.split.val.size());
      std::fflush(stdout);
      train::train(ctx, cfg);
      const std::vector<uint32_t>& held = s.split.val;
      const auto add_rows = [&](size_t first, uint32_t rows, const float* logits) {
        for (uint32_t i = 0; i < rows; ++i)
          r.images.push_back(
              train::audit_row(held[first + i], ds.train.labels[held[first + i]], logits + size_t(i) * K, K));
      };
      train::run_logits(ctx, train::load_run(cfg.out_dir), ds.train, held, add_rows);
    }
  }

  std::string run_, data_;
  uint32_t top_ = 100, folds_ = 0;
  DeviceOptions device_;
};

}  // namespace

std::unique_ptr<Command> add_audit(CLI::App& app) { return std::make_unique<Audit>(app); }

}  // namespace fovea::cli
