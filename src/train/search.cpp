#include "train/search.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "report/search_report.h"
#include "train/cv.h"
#include "train/run_support.h"
#include "util/error.h"
#include "util/file.h"

namespace fovea::train {

namespace {

namespace fs = std::filesystem;

std::string trial_dir(size_t i) { return "trial-" + std::to_string(i); }

nlohmann::json run_config(const SearchConfig& cfg, size_t i) {
  nlohmann::json j = cfg.base;
  for (const auto& [key, value] : cfg.trials[i].items()) j[key] = value;
  j["out"] = (fs::path(cfg.out_dir) / trial_dir(i)).string();
  return j;
}

}  // namespace

void check_search(const SearchConfig& cfg) {
  if (cfg.trials.empty()) throw Error("the search has no trials (--trials 0)");
  for (size_t i = 0; i < cfg.trials.size(); ++i) {
    try {
      const TrainConfig t = cfg.make_config(run_config(cfg, i));
      check_train_options(t);
      if (!t.split && !cfg.protocol && !t.val_split.empty()) {
        const data::ValSpec v = data::parse_val_split(t.val_split);
        if (v.is_fraction ? v.fraction == 0 : v.count == 0)
          throw Error("--metric " + cfg.metric + " needs a validation set, and --val-split " + t.val_split +
                      " leaves none");
      }
    } catch (const Error& e) {
      throw Error("search space " + cfg.space_path + ": trial " + std::to_string(i) + " " + cfg.trials[i].dump() +
                  ": " + e.what());
    }
  }
}

namespace {

// DIR's earlier trials under --resume (checked against this search), or
// none for a new search (DIR must not hold one).
std::vector<TrialRecord> earlier_trials(const SearchConfig& cfg) {
  const fs::path out(cfg.out_dir);
  const fs::path log = out / "search.jsonl", settings = out / "search.json";
  if (!cfg.resume) {
    for (const char* file : {"search.jsonl", "search.json", "metrics.jsonl", "cv.jsonl"})
      if (fs::exists(out / file))
        throw Error("output directory " + out.string() + " already holds a run (" + file +
                    "); pass --resume to continue its search, or choose another --out");
    return {};
  }
  std::ifstream f(settings);
  if (!f) throw Error("--resume: " + out.string() + " holds no search (no search.json)");
  nlohmann::json was;
  try {
    was = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw Error(settings.string() + ": not valid JSON (" + e.what() + ")");
  }
  for (const auto& [key, value] : cfg.identity.items())
    if (!was.contains(key) || was[key] != value)
      throw Error("--resume: " + out.string() + " was searched with another " + key + " (search.json has " +
                  (was.contains(key) ? was[key].dump() : std::string("none")) + ", this search " + value.dump() +
                  "); give the same options, or choose another --out");
  std::vector<TrialRecord> records = read_search_log(log.string());
  for (size_t i = 0; i < records.size() && i < cfg.trials.size(); ++i)
    if (records[i].settings != cfg.trials[i])
      throw Error("--resume: " + log.string() + " trial " + std::to_string(i) + " has settings " +
                  records[i].settings.dump() + ", this search draws " + cfg.trials[i].dump());
  return records;
}

// Whether the run (or, under a protocol, one of its splits) stopped as diverged.
bool diverged_in(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (entry.path().filename() != "summary.json") continue;
    std::ifstream f(entry.path());
    const nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
    if (j.is_object() && j.value("stop_reason", "") == "diverged") return true;
  }
  return false;
}

double metric_of(const std::string& metric, double val_loss, double val_acc) {
  return metric == "val_loss" ? val_loss : val_acc;
}

// Runs trial i; its record, or nullopt-free record with mean null when it diverged.
TrialRecord run_trial(gpu::Context& ctx, const SearchConfig& cfg, size_t i, const std::vector<TrialRecord>& earlier) {
  TrialRecord r;
  r.trial = uint32_t(i);
  r.settings = cfg.trials[i];
  TrainConfig t = cfg.make_config(run_config(cfg, i));
  const fs::path dir(t.out_dir);
  if (fs::exists(dir)) {
    std::printf("search: %s has no line in search.jsonl; running trial %zu again\n", dir.string().c_str(), i);
    fs::remove_all(dir);
  }
  t.on_epoch = [&](const EpochResult& e) {
    if (e.epoch != 1 || r.epoch1) return true;  // judged once: the first epoch of the first split
    r.epoch1 = metric_of(cfg.metric, e.val_loss, e.val_acc);
    r.pruned = cfg.prune && t.epochs > 1 && prune_trial(earlier, cfg.metric, *r.epoch1);
    if (r.pruned) std::printf("search: trial %zu abandoned: its %s after epoch 1 is in the worst half\n", i,
                              cfg.metric.c_str());
    return !r.pruned;
  };
  const auto t0 = std::chrono::steady_clock::now();
  try {
    if (cfg.protocol) {
      const CvResult cv = cross_validate(ctx, CvConfig{t, *cfg.protocol});
      const MeanStd& m = cfg.metric == "val_loss" ? cv.val_loss : cv.val_acc;
      r.mean = m.mean;
      if (!std::isnan(m.std)) r.std = m.std;
      r.stop_reason = cv.splits.back().stop_reason;
    } else {
      const RunResult run = train(ctx, t);
      const EpochResult& kept = run.epochs.at(run.best_epoch > 0 ? run.best_epoch - 1 : run.epochs.size() - 1);
      r.mean = metric_of(cfg.metric, kept.val_loss, kept.val_acc);
      r.stop_reason = run.stop_reason;
    }
  } catch (const Error& e) {
    if (!diverged_in(dir)) throw Error("search trial " + std::to_string(i) + " (" + dir.string() + "): " + e.what());
    std::printf("search: trial %zu diverged (%s); the search goes on\n", i, e.what());
    r.mean.reset();
    r.stop_reason = "diverged";
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string stat_text(const TrialRecord& r) {
  char buf[96];
  if (!r.mean) return "-";
  if (r.std)
    std::snprintf(buf, sizeof buf, "%.4f ± %.4f", *r.mean, *r.std);
  else
    std::snprintf(buf, sizeof buf, "%.4f", *r.mean);
  return buf;
}

// best.json and the lines that name the best trial.
void finish(const SearchConfig& cfg, const std::vector<TrialRecord>& records, const std::optional<size_t>& best) {
  const fs::path out(cfg.out_dir);
  std::printf("\n%5s %-12s %8s %7s  %s\n", "trial", cfg.metric.c_str(), "seconds", "note", "settings");
  for (const TrialRecord& r : records)
    std::printf("%5u %-12s %8.1f %7s  %s\n", r.trial, stat_text(r).c_str(), r.seconds,
                r.pruned ? "pruned" : r.stop_reason == "diverged" ? "diverged" : "", r.settings.dump().c_str());
  const std::string page = report::write_search_report(cfg.out_dir, cfg.space, records, cfg.metric, best);
  std::printf("report: %s\n", page.c_str());
  if (!best) throw Error("no trial of the search finished (every one diverged or was abandoned)");
  const TrialRecord& b = records[*best];
  nlohmann::json config = cfg.base;
  for (const auto& [key, value] : b.settings.items()) config[key] = value;
  write_atomically(out / "best.json", config.dump(2) + "\n");
  std::printf("best: trial %u, %s %s: %s\n", b.trial, cfg.metric.c_str(), stat_text(b).c_str(),
              b.settings.dump().c_str());
  std::printf("best settings: %s (fovea train --config %s)\n", (out / "best.json").string().c_str(),
              (out / "best.json").string().c_str());
}

}  // namespace

SearchResult run_search(gpu::Context& ctx, const SearchConfig& cfg) {
  if (cfg.out_dir.empty()) throw Error("no output directory given");
  check_search(cfg);
  SearchResult result;
  result.trials = earlier_trials(cfg);
  const fs::path out(cfg.out_dir);
  fs::create_directories(out);
  if (!cfg.resume) write_atomically(out / "search.json", cfg.identity.dump(2) + "\n");
  if (cfg.resume)
    std::printf("search: %zu of %zu trials already in %s\n", std::min(result.trials.size(), cfg.trials.size()),
                cfg.trials.size(), (out / "search.jsonl").string().c_str());
  std::ofstream log(out / "search.jsonl", std::ios::app);
  if (!log) throw Error("cannot write " + (out / "search.jsonl").string());
  for (size_t i = result.trials.size(); i < cfg.trials.size(); ++i) {
    std::printf("\ntrial %zu/%zu: %s -> %s\n", i + 1, cfg.trials.size(), cfg.trials[i].dump().c_str(),
                (out / trial_dir(i)).string().c_str());
    std::fflush(stdout);
    TrialRecord r = run_trial(ctx, cfg, i, result.trials);
    log << trial_json(r, cfg.metric).dump() << "\n";
    log.flush();
    if (!log) throw Error("cannot write " + (out / "search.jsonl").string());
    std::printf("trial %zu: %s %s (%.1f s)%s\n", i, cfg.metric.c_str(), stat_text(r).c_str(), r.seconds,
                r.pruned ? ", abandoned after epoch 1" : "");
    result.trials.push_back(std::move(r));
  }
  result.best = best_trial(result.trials, cfg.metric);
  finish(cfg, result.trials, result.best);
  return result;
}

}  // namespace fovea::train
