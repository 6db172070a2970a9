// The pieces of `fovea train`'s loop (src/train/trainer.cpp) that are not
// the loop: the progress bar, snapshots of the weights, metrics.jsonl lines
// and a resumed run's cut, the ranks of a data-parallel run, and the
// options' checks.
#pragma once
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/augment.h"
#include "dist/comm.h"
#include "gpu/recorder.h"
#include "nn/model.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace fovea::train {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class Progress {
 public:
  // Drawn only when `enabled` and stderr is a terminal.
  Progress(bool enabled, uint32_t epoch, uint32_t epochs, uint64_t total);
  // True when a redraw is due (at most five times a second, and at the end).
  bool due(uint64_t done) const {
    return on_ && (done >= total_ || Clock::now() - last_ >= std::chrono::milliseconds(200));
  }
  void update(uint64_t done, double seconds, double loss, double acc) {
    if (!due(done)) return;
    last_ = Clock::now();
    double rate = seconds > 0 ? double(done) / seconds : 0;
    double eta = rate > 0 ? double(total_ - done) / rate : 0;
    int width = 24, fill = int(double(width) * double(done) / double(std::max<uint64_t>(total_, 1)));
    std::fprintf(stderr, "\repoch %u/%u [%.*s%*s] %llu/%llu  %.0f img/s  loss %.4f  acc %.4f  ETA %.0fs ",
                 epoch_, epochs_, fill, "========================", width - fill, "",
                 (unsigned long long)done, (unsigned long long)total_, rate, loss, acc, eta);
    std::fflush(stderr);
  }
  void done() {
    if (on_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool on_;
  uint32_t epoch_, epochs_;
  uint64_t total_;
  Clock::time_point last_{};
};

// "%.4g" of v.
std::string short_number(double v);
// "the initial weights" (epoch 0) or "the weights of epoch N".
std::string weights_name(uint32_t epoch);

// The weights (and layer state) of one moment of the run, in host memory.
// Every value finite (no NaN, no Inf): the epoch's weights and layer state.
inline bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

struct Snapshot {
  std::vector<float> params, state;
  uint64_t batches_tracked = 0;
  uint32_t epoch = 0;
  void take(const nn::Model& m, uint32_t e) {
    params = m.download_parameters();
    state = m.download_state();
    batches_tracked = m.batches_tracked();
    epoch = e;
  }
  void restore(nn::Model& m) const {
    m.upload_parameters(params);
    m.upload_state(state);
    m.set_batches_tracked(batches_tracked);
  }
};

// One metrics.jsonl line, and back (for a resumed run's earlier epochs).
nlohmann::json epoch_json(const EpochResult& e, bool has_val);

// A resumed run's metrics.jsonl cut back to its first `epochs` lines (the
// rest belong to epochs the checkpoint does not hold; only when `write`);
// returns them.
std::vector<EpochResult> cut_metrics(const std::filesystem::path& path, uint32_t epochs, bool write);

// The ranks of a data-parallel run (one process when comm is null): rank r
// takes rows [r n / size, (r + 1) n / size) of every n rows it shares, and
// sums reduce over the ranks.
struct Ranks {
  dist::Comm* comm = nullptr;
  uint32_t rank = 0, size = 1;
  explicit Ranks(dist::Comm* c) : comm(c) {
    if (c) rank = uint32_t(c->rank()), size = uint32_t(c->size());
  }
  bool writer() const { return rank == 0; }
  size_t begin(size_t n) const { return n * rank / size; }
  size_t end(size_t n) const { return n * (rank + 1) / size; }
  Totals reduce(Totals t) const {
    if (size == 1) return t;
    double v[3] = {t.loss, double(t.correct), double(t.count)};
    comm->allreduce_sum(v, 3);
    t.loss = v[0], t.correct = uint64_t(v[1]), t.count = uint64_t(v[2]);
    return t;
  }
};

// --accumulate: at least 1; micro-batches are one process's, and a mixing
// augmentation draws per batch, which the micro-batches would each redo.
void check_accumulate(const TrainConfig& cfg, const data::AugmentConfig& augment, uint32_t ranks);

// The scalar options of a run (epochs, batch, rates, stopping rules, test
// corruptions' ranges, checkpoint interval): one line per bad value.
void check_train_options(const TrainConfig& cfg);

// The output directory of a new run holds no run; a resumed one holds its
// checkpoint. One line naming the directory otherwise.
void check_out_dir(const std::filesystem::path& out, bool resume, bool writer);

// A data-parallel run's global --batch divides evenly among the ranks.
void check_batch_shards(uint32_t batch, uint32_t ranks);

}  // namespace fovea::train
