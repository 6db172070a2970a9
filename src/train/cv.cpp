#include "train/cv.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "data/idx.h"
#include "nn/model_spec.h"
#include "train/run_data.h"
#include "util/error.h"

namespace fovea::train {

namespace {

namespace fs = std::filesystem;

nlohmann::json stat_json(const MeanStd& m) {
  return {{"mean", m.mean}, {"std", std::isnan(m.std) ? nlohmann::json(nullptr) : nlohmann::json(m.std)}};
}

// The settings the protocol reads, for cv.jsonl's summary line.
nlohmann::json protocol_json(const data::CvSettings& cv, const std::string& val_split) {
  nlohmann::json j = {{"protocol", data::protocol_name(cv.protocol)}};
  for (const std::string& o : data::protocol_options(cv.protocol)) {
    if (o == "--val-split") j["val_split"] = val_split.empty() ? "1/12" : val_split;
    if (o == "--folds") j["folds"] = cv.folds;
    if (o == "--repeats") j["repeats"] = cv.repeats;
    if (o == "--p") j["p"] = cv.p;
    if (o == "--max-splits") j["max_splits"] = cv.max_splits;
  }
  return j;
}

void print_table(const CvResult& r) {
  const char* head = "%5s %6s %5s %7s %6s %6s %9s %8s %9s %8s %8s\n";
  std::printf(head, "split", "repeat", "fold", "train", "val", "epochs", "val_loss", "val_acc",
              "test_loss", "test_acc", "seconds");
  for (const CvSplitResult& s : r.splits)
    std::printf("%5u %6u %5u %7llu %6llu %6u %9.4f %8.4f %9.4f %8.4f %8.1f\n", s.index, s.repeat, s.fold,
                (unsigned long long)s.train_images, (unsigned long long)s.val_images, s.epochs_run,
                s.val_loss, s.val_acc, s.test_loss, s.test_acc, s.seconds);
  auto row = [&](const char* name, double MeanStd::*field) {
    auto cell = [&](const MeanStd& m, int width) {
      const double v = m.*field;
      if (std::isnan(v))
        std::printf(" %*s", width, "-");
      else
        std::printf(" %*.4f", width, v);
    };
    std::printf("%-39s", name);
    cell(r.val_loss, 9);
    cell(r.val_acc, 8);
    cell(r.test_loss, 9);
    cell(r.test_acc, 8);
    std::printf("\n");
  };
  row("mean", &MeanStd::mean);
  row("std (sample, n-1)", &MeanStd::std);
  auto pm = [](const MeanStd& m) {
    char buf[64];
    if (std::isnan(m.std))
      std::snprintf(buf, sizeof buf, "%.4f", m.mean);
    else
      std::snprintf(buf, sizeof buf, "%.4f ± %.4f", m.mean, m.std);
    return std::string(buf);
  };
  std::printf("val_acc %s, test_acc %s (mean ± sample std over %zu splits)\n", pm(r.val_acc).c_str(),
              pm(r.test_acc).c_str(), r.splits.size());
}

}  // namespace

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd m;
  if (values.empty()) return m;
  const double n = double(values.size());
  m.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - m.mean) * (v - m.mean);
    m.std = std::sqrt(ss / (n - 1));
  }
  return m;
}

namespace {

// One split's figures from its run: the kept epoch's validation (the best
// with early stopping, else the last) and the test pass.
CvSplitResult split_result(const data::CvSplit& s, uint32_t index, const RunResult& run,
                           std::chrono::steady_clock::time_point t0) {
  CvSplitResult r;
  r.index = index;
  r.repeat = s.repeat;
  r.fold = s.fold;
  r.train_images = s.split.train.size();
  r.val_images = s.split.val.size();
  const EpochResult& kept_epoch = run.epochs.at(run.best_epoch > 0 ? run.best_epoch - 1 : run.epochs.size() - 1);
  r.val_loss = kept_epoch.val_loss;
  r.val_acc = kept_epoch.val_acc;
  r.test_loss = run.test_loss;
  r.test_acc = run.test_acc;
  r.epochs_run = uint32_t(run.epochs.size());
  r.stop_reason = run.stop_reason;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// cv.jsonl's line of one split.
nlohmann::json split_line(const CvSplitResult& r, uint32_t best_epoch) {
  return {{"split", r.index},           {"repeat", r.repeat},
          {"fold", r.fold},             {"dir", "split-" + std::to_string(r.index)},
          {"train_images", r.train_images}, {"val_images", r.val_images},
          {"val_loss", r.val_loss},     {"val_acc", r.val_acc},
          {"test_loss", r.test_loss},   {"test_acc", r.test_acc},
          {"epochs_run", r.epochs_run}, {"best_epoch", best_epoch},
          {"stop_reason", r.stop_reason}, {"seconds", r.seconds}};
}

// The mean and sample std of every column over the splits (into `result`),
// and cv.jsonl's summary line.
nlohmann::json summarise(CvResult& result, const data::CvSettings& settings, const TrainConfig& base, uint32_t n) {
  auto column = [&](double CvSplitResult::*field) {
    std::vector<double> v;
    for (const auto& s : result.splits) v.push_back(s.*field);
    return mean_std(v);
  };
  result.val_acc = column(&CvSplitResult::val_acc);
  result.val_loss = column(&CvSplitResult::val_loss);
  result.test_acc = column(&CvSplitResult::test_acc);
  result.test_loss = column(&CvSplitResult::test_loss);
  nlohmann::json summary = {{"splits", result.splits.size()},
                            {"std", "sample (divisor n-1; null for one split)"},
                            {"val_acc", stat_json(result.val_acc)},
                            {"val_loss", stat_json(result.val_loss)},
                            {"test_acc", stat_json(result.test_acc)},
                            {"test_loss", stat_json(result.test_loss)},
                            {"images", n},
                            {"seed", base.seed},
                            {"command", base.command_line}};
  summary.update(protocol_json(settings, base.val_split));
  return summary;
}

}  // namespace

CvResult cross_validate(gpu::Context& ctx, const CvConfig& cfg) {
  const TrainConfig& base = cfg.train;
  if (base.out_dir.empty()) throw Error("no output directory given");
  const fs::path out(base.out_dir);
  for (const char* file : {"cv.jsonl", "metrics.jsonl"})
    if (fs::exists(out / file))
      throw Error("output directory " + out.string() + " already holds a run (" + file +
                  "); choose another --out");

  // The kept images (the first --limit) and their labels decide the splits.
  const nn::ModelSpec spec = nn::load_model_spec(base.model_path);
  const data::Source ds = open_data(base, spec);
  if (ds.val)
    throw Error("fovea cv makes its own validation sets, and " + base.data_dir + " has one (" +
                (ds.kind == "csv" ? "val rows" : "a val/ folder") + "); train on it with fovea train");
  const uint32_t available = ds.train.count;
  if (base.limit > available)
    throw Error("--limit " + std::to_string(base.limit) + " is more than the " + std::to_string(available) +
                " images in the training file");
  const uint32_t n = base.limit == 0 ? available : base.limit;
  std::vector<uint32_t> kept(n);
  std::iota(kept.begin(), kept.end(), 0u);
  const std::vector<uint32_t> labels(ds.train.labels.begin(), ds.train.labels.begin() + n);
  data::CvSettings settings = cfg.cv;
  settings.val = base.val_split.empty() ? data::ValSpec{} : data::parse_val_split(base.val_split);
  const std::vector<data::CvSplit> splits = data::make_cv_splits(kept, labels, settings, base.seed);

  CvResult result;
  if (base.print_plan) {
    TrainConfig t = base;
    t.split = splits.front().split;
    train(ctx, t);
    return result;
  }
  std::printf("cross-validation: %s, %zu splits of %u images\n", data::protocol_name(settings.protocol).c_str(),
              splits.size(), n);
  std::ofstream jsonl;  // opened when the first split has finished: a refused run leaves nothing
  for (size_t i = 0; i < splits.size(); ++i) {
    const data::CvSplit& s = splits[i];
    TrainConfig t = base;
    t.split = s.split;
    t.out_dir = (out / ("split-" + std::to_string(i))).string();
    std::printf("\nsplit %zu/%zu (repeat %u, fold %u): %zu train, %zu val images -> %s\n", i + 1, splits.size(),
                s.repeat, s.fold, s.split.train.size(), s.split.val.size(), t.out_dir.c_str());
    std::fflush(stdout);
    const auto t0 = std::chrono::steady_clock::now();
    RunResult run;
    try {
      run = train(ctx, t);
    } catch (const Error& e) {
      throw Error("cross-validation split " + std::to_string(i) + " (" + t.out_dir + "): " + e.what());
    }
    const CvSplitResult r = split_result(s, uint32_t(i), run, t0);
    result.splits.push_back(r);
    if (!jsonl.is_open()) {
      jsonl.open(out / "cv.jsonl");
      if (!jsonl) throw Error("cannot write " + (out / "cv.jsonl").string());
    }
    jsonl << split_line(r, run.best_epoch).dump() << "\n";
    jsonl.flush();
    if (run.stop_reason == "abandoned") break;  // fovea search --prune-trials gave up on this cross-validation
  }

  const nlohmann::json summary = summarise(result, settings, base, n);
  jsonl << nlohmann::json{{"summary", summary}}.dump() << "\n";
  jsonl.flush();
  if (!jsonl) throw Error("cannot write " + (out / "cv.jsonl").string());
  std::printf("\n");
  print_table(result);
  return result;
}

}  // namespace fovea::train
