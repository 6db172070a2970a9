// End to end: a few hundred Fashion-MNIST images through the recorded step.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gpu/harness.h"
#include "train/trainer.h"
#include "support/skip.h"

using namespace fovea;
namespace fs = std::filesystem;

namespace {
const char* kData = "/usr/share/datasets/fashion-mnist";

train::TrainConfig small_run(const std::string& name) {
  train::TrainConfig c;
  c.model_path = std::string(FOVEA_SOURCE_DIR) + "/assets/models/mlp.json";
  c.data_dir = kData;
  c.out_dir = (fs::temp_directory_path() / ("fovea-test-" + name + "-" + std::to_string(::getpid()))).string();
  fs::remove_all(c.out_dir);
  c.epochs = 4;
  c.batch = 64;
  c.lr = 0.05f;
  c.limit = 600;
  c.val_split = "100";  // 500 training images: 7 full batches and a partial one of 52
  c.progress = false;
  return c;
}
}  // namespace

TEST_CASE("training a few hundred images lowers the loss and writes the run files", "[train]") {
  if (!fs::exists(kData)) {
    FOVEA_SKIP_DEPENDENCY("no Fashion-MNIST at " << kData << " (apt-get install dataset-fashion-mnist)");
  }
  auto cfg = small_run("loss");
  train::RunResult r = train::train(test::context(), cfg);
  REQUIRE(r.epochs.size() == 4);
  CHECK(r.epochs[0].train_images == 500);
  CHECK(r.epochs[0].val_images == 100);
  CHECK(r.epochs.back().train_loss < 0.8 * r.epochs.front().train_loss);
  CHECK(r.epochs.back().val_loss < r.epochs.front().val_loss);
  CHECK(r.epochs.back().val_acc > 0.5);  // chance is 0.1
  CHECK(r.test_acc > 0.5);
  CHECK(r.test_images == 10000);

  std::ifstream m(fs::path(cfg.out_dir) / "metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(m, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* f : {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "blur_sigma",
                          "seconds", "images_per_second"})
      CHECK(j.contains(f));
    CHECK(j["train_acc"].get<double>() >= 0.0);
    CHECK(j["train_acc"].get<double>() <= 1.0);
    ++lines;
  }
  CHECK(lines == 4);
  std::ifstream s(fs::path(cfg.out_dir) / "summary.json");
  auto summary = nlohmann::json::parse(s);
  CHECK(summary["test_acc"].get<double>() == Approx(r.test_acc));
  CHECK(summary.contains("device"));
  CHECK(summary.contains("command"));
  CHECK(summary["seed"].get<uint64_t>() == 0);
  fs::remove_all(cfg.out_dir);
}

TEST_CASE("the same seed gives the same run, another seed another", "[train]") {
  if (!fs::exists(kData)) {
    FOVEA_SKIP_DEPENDENCY("no Fashion-MNIST at " << kData);
  }
  auto a = small_run("seed-a"), b = small_run("seed-b"), c = small_run("seed-c");
  a.epochs = b.epochs = c.epochs = 1;
  c.seed = 7;
  auto ra = train::train(test::context(), a);
  auto rb = train::train(test::context(), b);
  auto rc = train::train(test::context(), c);
  CHECK(ra.epochs[0].train_loss == rb.epochs[0].train_loss);
  CHECK(ra.epochs[0].val_loss == rb.epochs[0].val_loss);
  CHECK(ra.test_loss == rb.test_loss);
  CHECK(ra.epochs[0].train_loss != rc.epochs[0].train_loss);
  CHECK_THROWS_WITH(train::train(test::context(), a), Catch::Contains("already holds a run"));
  for (auto* cfg : {&a, &b, &c}) fs::remove_all(cfg->out_dir);
}

TEST_CASE("an explicit split is trained as given: train's own split reproduces the run", "[train]") {
  if (!fs::exists(kData)) {
    FOVEA_SKIP_DEPENDENCY("no Fashion-MNIST at " << kData);
  }
  auto implicit = small_run("split-implicit"), explicit_ = small_run("split-explicit"), other = small_run("split-other");
  implicit.epochs = explicit_.epochs = other.epochs = 1;
  explicit_.split = data::make_split(60000, 600, data::parse_val_split("100"), 0);
  // A split the limit could not give: odd images past 600 train, even ones validate.
  data::Split odd;
  for (uint32_t i = 0; i < 500; ++i) odd.train.push_back(1001 + 2 * i);
  for (uint32_t i = 0; i < 80; ++i) odd.val.push_back(2000 + 2 * i);
  other.split = odd;
  other.limit = 0;
  auto ri = train::train(test::context(), implicit);
  auto re = train::train(test::context(), explicit_);
  auto ro = train::train(test::context(), other);
  CHECK(re.epochs[0].train_loss == ri.epochs[0].train_loss);
  CHECK(re.epochs[0].val_loss == ri.epochs[0].val_loss);
  CHECK(re.test_loss == ri.test_loss);
  CHECK(ro.epochs[0].train_images == 500);
  CHECK(ro.epochs[0].val_images == 80);
  CHECK(ro.epochs[0].train_loss != ri.epochs[0].train_loss);
  for (const auto* c : {&implicit, &explicit_, &other}) fs::remove_all(c->out_dir);
  other.split->val.push_back(60000);  // past the file
  CHECK_THROWS_WITH(train::train(test::context(), other), Catch::Contains("image 60000"));
  CHECK_FALSE(fs::exists(other.out_dir));
}
