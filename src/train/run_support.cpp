// The pieces of `fovea train`'s loop (train/run_support.h).
#include "train/run_support.h"

#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "data/sharpening.h"
#include "nn/step_params.h"
#include "optim/optimizer.h"
#include "util/error.h"
#include "util/file.h"

namespace fovea::train {

namespace fs = std::filesystem;

Progress::Progress(bool enabled, uint32_t epoch, uint32_t epochs, uint64_t total)
    : on_(enabled && isatty(STDERR_FILENO)), epoch_(epoch), epochs_(epochs), total_(total) {}

std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string weights_name(uint32_t epoch) {
  return epoch == 0 ? "the initial weights" : "the weights of epoch " + std::to_string(epoch);
}

// One metrics.jsonl line, and back (for a resumed run's earlier epochs).
nlohmann::json epoch_json(const EpochResult& e, bool has_val) {
  nlohmann::json line = {{"epoch", e.epoch},           {"train_loss", e.train_loss},
                         {"train_acc", e.train_acc},   {"val_loss", e.val_loss},
                         {"val_acc", e.val_acc},       {"val_balanced_acc", e.val_balanced_acc},
                         {"lr", e.lr},
                         {"blur_sigma", e.blur_sigma},          {"seconds", e.seconds},
                         {"images_per_second", e.images_per_second},
                         {"train_images", e.train_images}, {"val_images", e.val_images},
                         {"penalty", e.penalty}};
  if (e.input_size[0] > 0) line["input_size"] = e.input_size;  // --sharpen pyramid
  if (!has_val) line["val_loss"] = line["val_acc"] = line["val_balanced_acc"] = nullptr;
  if (e.probed) line["sharpness"] = e.sharpness, line["two_over_lr"] = e.two_over_lr;
  if (e.allreduce_seconds > 0) line["allreduce_seconds"] = e.allreduce_seconds;
  return line;
}

static EpochResult epoch_from_json(const nlohmann::json& j) {
  auto num = [&](const char* k) { return j.at(k).is_null() ? 0.0 : j.at(k).get<double>(); };
  EpochResult e;
  e.epoch = j.at("epoch").get<uint32_t>();
  e.train_loss = num("train_loss"), e.train_acc = num("train_acc");
  e.val_loss = num("val_loss"), e.val_acc = num("val_acc");
  if (j.contains("val_balanced_acc")) e.val_balanced_acc = num("val_balanced_acc");
  e.lr = num("lr"), e.blur_sigma = num("blur_sigma"), e.seconds = num("seconds");
  e.images_per_second = num("images_per_second"), e.penalty = num("penalty");
  e.train_images = j.at("train_images").get<uint64_t>(), e.val_images = j.at("val_images").get<uint64_t>();
  e.probed = j.contains("sharpness") && !j.at("sharpness").is_null();
  if (e.probed) e.sharpness = num("sharpness"), e.two_over_lr = num("two_over_lr");
  if (j.contains("input_size")) e.input_size = j.at("input_size").get<std::array<uint32_t, 2>>();
  return e;
}

// A resumed run's metrics.jsonl cut back to its first `epochs` lines (the
// rest belong to epochs the checkpoint does not hold; only when `write`);
// returns them.
std::vector<EpochResult> cut_metrics(const fs::path& path, uint32_t epochs, bool write) {
  std::vector<EpochResult> kept;
  std::string text;
  std::ifstream f(path);
  std::string line;
  while (kept.size() < epochs && std::getline(f, line)) {
    try {
      kept.push_back(epoch_from_json(nlohmann::json::parse(line)));
    } catch (const nlohmann::json::exception& e) {
      throw Error(path.string() + ": line " + std::to_string(kept.size() + 1) + " is not a metrics line (" +
                  e.what() + ")");
    }
    if (kept.back().epoch != kept.size())
      throw Error(path.string() + ": line " + std::to_string(kept.size()) + " is of epoch " +
                  std::to_string(kept.back().epoch));
    text += line + "\n";
  }
  if (kept.size() < epochs)
    throw Error(path.string() + " has " + std::to_string(kept.size()) + " epoch lines but the checkpoint is of epoch " +
                std::to_string(epochs));
  if (write) write_atomically(path, text);
  return kept;
}

// --accumulate: at least 1; micro-batches are one process's, and a mixing
// augmentation draws per batch, which the micro-batches would each redo.
void check_accumulate(const TrainConfig& cfg, const data::AugmentConfig& augment, uint32_t ranks) {
  if (cfg.accumulate == 0 || cfg.accumulate > 4096)
    throw Error("--accumulate must be in 1..4096 micro-batches, got " + std::to_string(cfg.accumulate));
  if (cfg.accumulate == 1) return;
  if (ranks > 1) throw Error("--accumulate " + std::to_string(cfg.accumulate) + " with mpirun is not supported: use one process");
  if (augment.mixing())
    throw Error("--accumulate " + std::to_string(cfg.accumulate) + " cannot be used with mixup or cutmix in --augment");
}

// The options train() checks before it reads anything: one line naming the
// option and the value.
void check_train_options(const TrainConfig& cfg) {
  if (cfg.epochs == 0) throw Error("--epochs must be at least 1");
  if (cfg.batch == 0) throw Error("--batch must be at least 1");
  if (!(cfg.lr > 0) || !std::isfinite(cfg.lr)) throw Error("--lr must be a positive number");
  ops::validate_optimizer(cfg.optim);
  if (cfg.out_dir.empty()) throw Error("no output directory given");
  if (!(cfg.sharpen_replay >= 0 && cfg.sharpen_replay <= 1))
    throw Error("--sharpen-replay must be a fraction in [0, 1], got " + std::to_string(cfg.sharpen_replay));
  for (double v : cfg.test_blur)
    if (!(v >= 0 && v <= data::kMaxSharpenSigma))
      throw Error("--test-blur: sigma " + std::to_string(v) + " is outside [0, 20] pixels");
  for (double v : cfg.test_noise)
    if (!(v >= 0 && std::isfinite(v))) throw Error("--test-noise: std " + std::to_string(v) + " is not >= 0");
  for (double v : cfg.test_fgsm)
    if (!(v >= 0 && v <= 1)) throw Error("--test-fgsm: eps " + std::to_string(v) + " is outside [0, 1] pixel units");
  if (cfg.early_stop_metric != "val_loss" && cfg.early_stop_metric != "val_acc" &&
      cfg.early_stop_metric != "val_balanced_acc")
    throw Error("--early-stop-metric must be val_loss, val_acc or val_balanced_acc, got '" + cfg.early_stop_metric +
                "'");
  if (!(cfg.early_stop_delta >= 0)) throw Error("--early-stop-delta must be >= 0");
  if (!(cfg.target_acc >= 0 && cfg.target_acc <= 1)) throw Error("--target-acc must be in [0, 1]");
  if (!(cfg.divergence_factor > 1)) throw Error("--divergence-factor must be greater than 1");
  if (cfg.checkpoint_every == 0) throw Error("--checkpoint-every must be at least 1 (epochs)");
}

// --out for a new run (no run there yet; checked by the writing rank) or
// for --resume (its checkpoint must exist).
void check_out_dir(const std::filesystem::path& out, bool resume, bool writer) {
  if (resume) {
    if (!std::filesystem::exists(out / "checkpoint.safetensors"))
      throw Error("--resume: " + out.string() + " holds no checkpoint.safetensors");
  } else if (writer && std::filesystem::exists(out / "metrics.jsonl")) {
    throw Error("output directory " + out.string() +
                " already holds a run (metrics.jsonl); choose another --out");
  }
}

void check_batch_shards(uint32_t batch, uint32_t ranks) {
  if (ranks > 1 && batch % ranks != 0)
    throw Error("--batch " + std::to_string(batch) + " is the global batch and must divide evenly among the " +
                std::to_string(ranks) + " ranks (mpirun -np " + std::to_string(ranks) + "); give a multiple of " +
                std::to_string(ranks));
}

}  // namespace fovea::train
