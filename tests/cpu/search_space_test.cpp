// `fovea search`'s device-free parts: SPACE.json's rules, seeded random
// trials within their ranges, the grid's order and --trials cut,
// search.jsonl read back after a kill, the best trial, the pruning rule,
// and the report's charts.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <set>

#include "report/search_report.h"
#include "temp_dir.h"
#include "train/search_space.h"
#include "util/error.h"

using Catch::Contains;
using fovea::train::SearchDim;
using fovea::train::TrialRecord;

namespace {

std::string write(const fovea::test::TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name), std::ios::binary) << text;
  return dir.file(name);
}

TrialRecord record(uint32_t trial, double mean, double epoch1, bool pruned = false) {
  TrialRecord r;
  r.trial = trial;
  r.settings = {{"lr", 0.1 * (trial + 1)}, {"optimizer", trial % 2 ? "adam" : "sgd"}};
  r.mean = mean;
  r.epoch1 = epoch1;
  r.pruned = pruned;
  r.stop_reason = pruned ? "abandoned" : "max_epochs";
  r.seconds = 1.5;
  return r;
}

}  // namespace

TEST_CASE("search space: lists and ranges in the file's order", "[search]") {
  fovea::test::TempDir dir("search_space");
  const auto space = fovea::train::read_search_space(
      write(dir, "s.json", R"({"optimizer": ["sgd", "adam"], "lr": {"log_uniform": [0.003, 0.3]},
                              "l2": {"uniform": [0, 1e-4]}, "test-blur": [[1, 2], [3]]})"));
  REQUIRE(space.size() == 4);
  CHECK(space[0].key == "optimizer");
  CHECK(space[0].values.size() == 2);
  CHECK(space[1].kind == SearchDim::Kind::log_uniform);
  CHECK(space[1].lo == 0.003);
  CHECK(space[2].kind == SearchDim::Kind::uniform);
  CHECK(space[3].values[0] == nlohmann::json::array({1, 2}));
}

TEST_CASE("search space: bad files name the file and the key", "[search]") {
  fovea::test::TempDir dir("search_space_bad");
  auto fails = [&](const std::string& text, const std::string& message) {
    const std::string path = write(dir, "bad.json", text);
    CHECK_THROWS_WITH(fovea::train::read_search_space(path), Contains(path) && Contains(message));
  };
  fails("{", "not valid JSON");
  fails("{}", "expected a JSON object");
  fails(R"({"lr": []})", "\"lr\": expected a non-empty list");
  fails(R"({"lr": 0.1})", "\"lr\": expected a non-empty list");
  fails(R"({"lr": [{"a": 1}]})", "\"lr\": value {\"a\":1} is not");
  fails(R"({"lr": {"normal": [0, 1]}})", "\"lr\": expected a list of values");
  fails(R"({"lr": {"uniform": [0.2, 0.1]}})", "\"lr\": uniform needs lo < hi");
  fails(R"({"lr": {"uniform": [0.1]}})", "uniform needs two numbers");
  fails(R"({"lr": {"log_uniform": [-1, 0.1]}})", "\"lr\": log_uniform needs lo > 0");
  CHECK_THROWS_WITH(fovea::train::read_search_space(dir.file("missing.json")), Contains("cannot read"));
}

TEST_CASE("search trials: random draws are seeded, in range and rounded", "[search]") {
  std::vector<SearchDim> space(3);
  space[0].key = "optimizer";
  space[0].values = {"sgd", "adam", "nadam"};
  space[1].key = "lr";
  space[1].kind = SearchDim::Kind::log_uniform;
  space[1].lo = 0.003, space[1].hi = 0.3;
  space[2].key = "batch";
  space[2].kind = SearchDim::Kind::uniform;
  space[2].lo = 15.5, space[2].hi = 40;
  space[2].integer = true;
  const auto a = fovea::train::search_trials(space, "random", 200, 7, "s.json");
  REQUIRE(a.size() == 200);
  CHECK(fovea::train::search_trials(space, "random", 200, 7, "s.json") == a);
  const auto shorter = fovea::train::search_trials(space, "random", 5, 7, "s.json");
  CHECK(std::equal(shorter.begin(), shorter.end(), a.begin()));
  CHECK(fovea::train::search_trials(space, "random", 5, 8, "s.json") != shorter);
  std::set<std::string> optimizers;
  int low_decade = 0;
  for (const auto& t : a) {
    optimizers.insert(t["optimizer"].get<std::string>());
    const double lr = t["lr"].get<double>();
    CHECK(lr >= 0.003);
    CHECK(lr <= 0.3);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", lr);
    CHECK(std::strtod(buf, nullptr) == lr);
    low_decade += lr < 0.03;
    CHECK(t["batch"].is_number_integer());
    CHECK(t["batch"].get<int>() >= 16);
    CHECK(t["batch"].get<int>() <= 40);
  }
  CHECK(optimizers.size() == 3);
  // Log-uniform: about half of the draws in the lower decade of two.
  CHECK(low_decade > 70);
  CHECK(low_decade < 130);
}

TEST_CASE("search trials: the grid's order, its --trials cut and its ranges", "[search]") {
  std::vector<SearchDim> space(2);
  space[0].key = "optimizer";
  space[0].values = {"sgd", "adam"};
  space[1].key = "lr";
  space[1].values = {0.1, 0.01, 0.001};
  CHECK(fovea::train::grid_size(space) == 6);
  const auto all = fovea::train::search_trials(space, "grid", 0, 1, "s.json");
  REQUIRE(all.size() == 6);
  CHECK(all[0] == nlohmann::json({{"optimizer", "sgd"}, {"lr", 0.1}}));
  CHECK(all[1] == nlohmann::json({{"optimizer", "sgd"}, {"lr", 0.01}}));
  CHECK(all[5] == nlohmann::json({{"optimizer", "adam"}, {"lr", 0.001}}));
  const auto four = fovea::train::search_trials(space, "grid", 4, 1, "s.json");
  CHECK(std::vector<nlohmann::json>(all.begin(), all.begin() + 4) == four);
  CHECK(fovea::train::search_trials(space, "grid", 50, 1, "s.json").size() == 6);
  space[1].kind = SearchDim::Kind::uniform;
  CHECK_THROWS_WITH(fovea::train::search_trials(space, "grid", 0, 1, "s.json"),
                    Contains("s.json") && Contains("\"lr\" is a range"));
}

TEST_CASE("search log: lines back, a cut last line dropped, other damage refused", "[search]") {
  fovea::test::TempDir dir("search_log");
  const std::string l0 = fovea::train::trial_json(record(0, 0.7, 0.6), "val_acc").dump();
  const std::string l1 = fovea::train::trial_json(record(1, 0.8, 0.5, true), "val_acc").dump();
  const std::string path = write(dir, "search.jsonl", l0 + "\n" + l1 + "\n");
  const auto back = fovea::train::read_search_log(path);
  REQUIRE(back.size() == 2);
  CHECK(back[1].pruned);
  CHECK(*back[0].mean == 0.7);
  CHECK(!back[0].std);
  CHECK(back[1].settings["optimizer"] == "adam");
  // Killed while writing line 2: it goes, and the file is rewritten without it.
  write(dir, "search.jsonl", l0 + "\n" + l1.substr(0, l1.size() / 2));
  CHECK(fovea::train::read_search_log(path).size() == 1);
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK(text == l0 + "\n");
  write(dir, "search.jsonl", l1.substr(0, 10) + "\n" + l0 + "\n");
  CHECK_THROWS_WITH(fovea::train::read_search_log(path), Contains("line 1: not valid JSON"));
  write(dir, "search.jsonl", l1 + "\n");
  CHECK_THROWS_WITH(fovea::train::read_search_log(path), Contains("trial 1 where trial 0 belongs"));
  CHECK(fovea::train::read_search_log(dir.file("none.jsonl")).empty());
}

TEST_CASE("search: the best trial and the pruning rule", "[search]") {
  std::vector<TrialRecord> r = {record(0, 0.70, 0.60), record(1, 0.90, 0.40, true), record(2, 0.80, 0.55),
                                record(3, 0.80, 0.50)};
  CHECK(fovea::train::best_trial(r, "val_acc") == std::optional<size_t>(2));  // pruned 1 skipped; ties to earlier
  CHECK(fovea::train::best_trial(r, "val_loss") == std::optional<size_t>(0));
  r[0].mean.reset();  // diverged
  CHECK(fovea::train::best_trial(r, "val_loss") == std::optional<size_t>(2));
  // Median of the epoch-1 values 0.60, 0.40, 0.55, 0.50 is 0.525.
  CHECK(fovea::train::prune_trial(r, "val_acc", 0.52));
  CHECK_FALSE(fovea::train::prune_trial(r, "val_acc", 0.53));
  CHECK(fovea::train::prune_trial(r, "val_loss", 0.53));
  CHECK(fovea::train::prune_trial(r, "val_acc", std::nan("")));
  const std::vector<TrialRecord> one(r.begin(), r.begin() + 1);
  CHECK_FALSE(fovea::train::prune_trial(one, "val_acc", 0.0));  // too few to judge
}

TEST_CASE("search report: a chart per option, log and categorical axes", "[search]") {
  std::vector<SearchDim> space(2);
  space[0].key = "lr";
  space[0].kind = SearchDim::Kind::log_uniform;
  space[0].lo = 0.1, space[0].hi = 0.4;
  space[1].key = "optimizer";
  space[1].values = {"sgd", "adam"};
  const std::vector<TrialRecord> r = {record(0, 0.7, 0.6), record(1, 0.8, 0.5, true), record(2, 0.75, 0.55)};
  const std::string page = fovea::report::render_search_report("s<1>", space, r, "val_acc", 2);
  size_t svgs = 0;
  for (size_t at = page.find("<svg"); at != std::string::npos; at = page.find("<svg", at + 1)) ++svgs;
  CHECK(svgs == 2);
  CHECK_THAT(page, Contains("lr (log scale)") && Contains(">adam<") && Contains(">sgd<"));
  CHECK_THAT(page, Contains("abandoned after epoch 1") && Contains("s&lt;1&gt;"));
  CHECK_THAT(page, Contains("trial 2, val_acc 0.7500"));
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<polyline") == std::string::npos);  // dots only
}
