// `fovea search`: every train option, the search space, the trials; each
// trial's settings go through the train options' own parsing.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "cli/command.h"
#include "cli/run_args.h"
#include "cli/suggest.h"
#include "cli/train_options.h"
#include "dist/comm.h"
#include "train/run_support.h"
#include "train/search.h"
#include "util/error.h"

namespace fovea::cli {

namespace {

constexpr const char* kSearchFooter =
    "SPACE.json maps long train option names (no dashes) to a list of values or, for --method random,\n"
    "{\"uniform\": [lo, hi]} or {\"log_uniform\": [lo, hi]} (draws rounded to 4 significant digits, to whole\n"
    "numbers for whole-number options), e.g. {\"lr\": {\"log_uniform\": [0.003, 0.3]}, \"optimizer\": [\"sgd\",\n"
    "\"adam\"], \"l2\": [0, 1e-4]}. random: --trials draws from --seed (the same seed, the same trials; a\n"
    "value may repeat). grid: every combination, the first key varying slowest; --trials N runs the first\n"
    "N (default: all). Each trial trains into DIR/trial-<i> (a cv run with --protocol) with --seed;\n"
    "DIR/search.jsonl gets a line per finished trial; then DIR/best.json (a run config for --config) and\n"
    "DIR/report.html.\n\n";

// Options that say how to watch a run, not what it computes: not searched,
// not in best.json.
const std::set<std::string> kNotSearched = {"config", "help",    "out",         "resume", "print-plan",
                                            "device", "validate", "no-progress", "profile"};

class Search final : public Command {
 public:
  explicit Search(CLI::App& app)
      : Command(app.add_subcommand("search", "Hyperparameter search: train a run (or a cross-validation) per "
                                             "trial of a search space, keep the best settings")) {
    add_train_options(sub_, opts_);
    sub_->remove_option(sub_->get_option("--resume"));
    sub_->remove_option(sub_->get_option("--print-plan"));
    const char* group = "Search";
    sub_->add_option("--space", space_, "SPACE.json: option names and the values to try (below)")
        ->required()
        ->group(group);
    trials_option_ = sub_->add_option("--trials", trials_,
                                      "Trials to run: random draws N (default 20); grid runs the first N "
                                      "combinations (default: all)")
                         ->group(group);
    sub_->add_option("--method", method_, "random or grid")
        ->check(CLI::IsMember({"random", "grid"}))
        ->capture_default_str()
        ->group(group);
    sub_->add_option("--metric", metric_, "What the best trial has best: val_acc (highest) or val_loss (lowest), "
                                          "the kept epoch's (mean over the splits with --protocol)")
        ->check(CLI::IsMember({"val_acc", "val_loss"}))
        ->capture_default_str()
        ->group(group);
    sub_->add_flag("--prune-trials", prune_,
                   "Abandon a trial whose metric after epoch 1 is worse than the median of the earlier trials' "
                   "(from the third trial on; runs of one epoch are never abandoned)")
        ->group(group);
    sub_->add_flag("--resume", resume_,
                   "Continue the search in --out DIR: trials in search.jsonl are kept, the rest run (the same "
                   "options, --trials may grow)")
        ->group(group);
    add_cv_options(sub_, cv_, false);
    sub_->get_option("--protocol")->description("Cross-validate each trial with this protocol (as fovea cv)");
    sub_->get_option("--out")->description("Search directory (default runs/search-<timestamp>)");
    sub_->get_option("--seed")->description("Seed for the random trials and every trial's run");
    sub_->footer(kSearchFooter + sub_->get_footer());
  }

  std::vector<std::string> rewrite(const std::vector<std::string>& args) override {
    return expand_run_config(args, *sub_);
  }

  int run(const std::vector<std::string>& /*args as given*/) override {
    if (dist::Comm::launched_size() > 1) throw Error("fovea search does not run data-parallel; start it without mpirun");
    if (resume_ && sub_->get_option("--out")->count() == 0)
      throw Error("--resume continues the search in --out DIR; give --out");
    std::optional<data::CvSettings> protocol;
    if (!cv_.protocol.empty()) {
      protocol = resolve_cv_options(cv_, sub_->get_option("--val-split"));
    } else {
      for (const CLI::Option* o : {cv_.folds_option, cv_.repeats_option, cv_.p_option, cv_.max_splits_option})
        if (o->count() > 0) throw Error(o->get_name() + " needs --protocol");
    }
    // The train options are checked with each trial's settings (check_space,
    // check_search): a searched option may be what makes them apply.
    if (opts_.cfg.out_dir.empty()) opts_.cfg.out_dir = timestamp_dir("search-");
    train::SearchConfig c;
    c.out_dir = opts_.cfg.out_dir;
    c.space_path = space_;
    c.space = train::read_search_space(space_);
    c.metric = metric_;
    c.prune = prune_;
    c.resume = resume_;
    c.protocol = protocol;
    c.base = given_options();
    c.make_config = [this](const nlohmann::json& rc) { return trial_config(rc); };
    check_base(c);
    check_space(c);
    const uint32_t count = method_ == "grid" && trials_option_->count() == 0 ? 0 : trials_;
    c.trials = train::search_trials(c.space, method_, count, opts_.cfg.seed, space_);
    if (method_ == "grid" && c.trials.size() < train::grid_size(c.space))
      std::printf("grid: %zu of %llu combinations (--trials %u: the first in the grid's order)\n", c.trials.size(),
                  (unsigned long long)train::grid_size(c.space), trials_);
    c.identity = identity(c);
    train::check_search(c);
    auto ctx = open_device(opts_, true);
    train::run_search(*ctx, c);
    return finish_validation(*ctx);
  }

 private:
  // The train options the command line (or --config) gave, as a run config.
  nlohmann::json given_options() const {
    nlohmann::json j = nlohmann::json::object();
    CLI::App scratch;
    TrainOptions o;
    add_train_options(&scratch, o);
    for (const CLI::Option* opt : sub_->get_options()) {
      if (opt->count() == 0 || opt->get_lnames().empty()) continue;
      const std::string name = opt->get_lnames().front();
      if (kNotSearched.count(name) || !scratch.get_option_no_throw("--" + name)) continue;
      const std::vector<std::string>& r = opt->results();
      if (opt->get_expected_min() == 0)
        j[name] = true;
      else
        j[name] = r.size() == 1 ? nlohmann::json(r.front()) : nlohmann::json(r);
    }
    return j;
  }

  // A trial's run config parsed by a fresh `train` command's options.
  train::TrainConfig trial_config(const nlohmann::json& rc) const {
    CLI::App app;
    TrainOptions o;
    CLI::App* sub = app.add_subcommand("train");
    add_train_options(sub, o);
    std::vector<std::string> argv = {"fovea", "train"};
    for (const std::string& a : config_arguments(rc, *sub, "search space " + space_)) argv.push_back(a);
    if (opts_.no_progress) argv.push_back("--no-progress");
    if (opts_.cfg.profile) argv.push_back("--profile");
    std::vector<std::string> reversed(argv.rbegin(), argv.rend() - 1);
    try {
      app.parse(reversed);
    } catch (const CLI::ParseError& e) {
      throw Error(e.what());
    }
    resolve_train_options(o, argv, "");
    o.cfg.args = run_settings(argv);  // `fovea train --resume DIR/trial-<i>` continues a trial
    return o.cfg;
  }

  // "" when the run config makes a valid trial, else the reason.
  std::string config_error(const nlohmann::json& rc) const {
    try {
      train::check_train_options(trial_config(rc));
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  }

  // The command line's train options must be valid alone or beside one
  // searched value ("--beta2 0.99" with "optimizer": ["adam", "adamw"]).
  void check_base(const train::SearchConfig& c) const {
    nlohmann::json rc = c.base;
    rc["out"] = c.out_dir;
    const std::string bad = config_error(rc);
    if (bad.empty()) return;
    for (const train::SearchDim& d : c.space) {
      const std::vector<nlohmann::json> values =
          d.kind == train::SearchDim::Kind::list ? d.values : std::vector<nlohmann::json>{d.lo, d.hi};
      for (const nlohmann::json& v : values) {
        nlohmann::json with = rc;
        with[d.key] = v;
        if (config_error(with).empty()) return;
      }
    }
    throw Error(bad);
  }

  // Each key a known train option not given on the command line; each value
  // (a range's ends, and a value between them) accepted as it would be there.
  void check_space(train::SearchConfig& c) const {
    CLI::App scratch;
    TrainOptions o;
    add_train_options(&scratch, o);
    std::vector<std::string> names;
    for (const CLI::Option* opt : scratch.get_options())
      for (const std::string& n : opt->get_lnames())
        if (!kNotSearched.count(n)) names.push_back(n);
    for (train::SearchDim& d : c.space) {
      const std::string where = "search space " + space_ + ": \"" + d.key + "\"";
      if (kNotSearched.count(d.key)) throw Error(where + " cannot be searched (it is not a training setting)");
      if (!scratch.get_option_no_throw("--" + d.key)) {
        const std::string near = nearest(d.key, names);
        throw Error(where + " is not a fovea train option" + (near.empty() ? "" : "; did you mean \"" + near + "\"?") +
                    " (keys are long option names without the dashes)");
      }
      if (c.base.contains(d.key))
        throw Error(where + " is also given on the command line; give it in one place");
      // Accepted with the base options, or with one other searched option
      // at one of its listed values (say "beta1" beside "optimizer": ["adam"]).
      auto accepts = [&](const nlohmann::json& v) {
        std::string first;
        auto with = [&](const std::string& key, const nlohmann::json& other) {
          nlohmann::json rc = c.base;
          if (!key.empty()) rc[key] = other;
          rc[d.key] = v;
          rc["out"] = c.out_dir;
          const std::string bad = config_error(rc);
          if (first.empty()) first = bad;
          return bad.empty();
        };
        if (with("", nullptr)) return std::string();
        for (const train::SearchDim& other : c.space)
          if (other.key != d.key)
            for (const nlohmann::json& ov : other.values)
              if (with(other.key, ov)) return std::string();
        return first;
      };
      auto check = [&](const nlohmann::json& v) {
        const std::string bad = accepts(v);
        if (!bad.empty()) throw Error(where + ": value " + v.dump() + ": " + bad);
      };
      if (d.kind == train::SearchDim::Kind::list) {
        for (const nlohmann::json& v : d.values) check(v);
        continue;
      }
      const double mid = d.lo + (d.hi - d.lo) * 0.37;
      d.integer = !accepts(mid).empty() && accepts(std::round(mid)).empty();
      if (d.integer && std::ceil(d.lo) > std::floor(d.hi))
        throw Error(where + ": " + d.key + " takes whole numbers, and [" + nlohmann::json(d.lo).dump() + ", " +
                    nlohmann::json(d.hi).dump() + "] holds none");
      for (double v : {d.lo, mid, d.hi})
        check(d.integer ? nlohmann::json(int64_t(std::llround(std::clamp(std::round(v), std::ceil(d.lo),
                                                                           std::floor(d.hi)))))
                        : nlohmann::json(v));
    }
  }

  nlohmann::json identity(const train::SearchConfig& c) const {
    nlohmann::json space = nlohmann::json::array();
    const char* kinds[] = {"list", "uniform", "log_uniform"};
    for (const train::SearchDim& d : c.space)
      space.push_back({{"key", d.key}, {"kind", kinds[int(d.kind)]}, {"values", d.values}, {"lo", d.lo}, {"hi", d.hi}});
    nlohmann::json protocol = nullptr;
    if (c.protocol)
      protocol = {{"protocol", cv_.protocol}, {"folds", cv_.folds}, {"repeats", cv_.repeats}, {"p", cv_.p},
                  {"max_splits", cv_.max_splits}};
    return {{"space", space},   {"method", method_},      {"seed", opts_.cfg.seed}, {"metric", metric_},
            {"prune", prune_},  {"protocol", protocol},   {"options", c.base}};
  }

  TrainOptions opts_;
  CvOptions cv_;
  std::string space_, method_ = "random", metric_ = "val_acc";
  uint32_t trials_ = 20;
  bool prune_ = false, resume_ = false;
  CLI::Option* trials_option_ = nullptr;
};

}  // namespace

std::unique_ptr<Command> add_search(CLI::App& app) { return std::make_unique<Search>(app); }

}  // namespace fovea::cli
