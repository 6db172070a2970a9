// One `fovea train` run (train/trainer.h's train()), as the object its
// phases share: set up (data, split, model: everything checked before the
// run directory gets a file), the epoch loop (trainer.cpp), the test phase,
// the profile and summary.json (run_summary.cpp). Steps go through the
// session layer (train/session.h); the stopping rules, resuming and the
// data-parallel exchange are units of their own.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/corrupt.h"
#include "data/sharpening.h"
#include "data/source.h"
#include "data/split.h"
#include "nn/model.h"
#include "optim/lr_schedule.h"
#include "train/checkpoint.h"
#include "train/exchange.h"
#include "train/resolution_ladder.h"
#include "train/run_support.h"
#include "train/session.h"
#include "train/stopping.h"
#include "train/trainer.h"

namespace fovea::train {

class Run {
 public:
  Run(gpu::Context& ctx, const TrainConfig& cfg);
  RunResult go();

 private:
  // The epoch's training phase: its sums over every rank and its seconds.
  struct Trained {
    Totals totals;
    double seconds = 0;
    uint64_t images = 0;
    std::array<uint32_t, 2> input_size = {0, 0};  // the images' [height, width]
  };
  void build_model();
  SessionOptions session_options() const;
  void open_run();
  void print_settings() const;
  Totals evaluate_all(const data::ImageSet& set, const std::vector<uint32_t>& indices, nn::StepParams base,
                      const LogitsSink& sink = {}, AttackedModel* attacked = nullptr);
  void save_checkpoint(uint32_t epochs, const std::string& stop_reason, uint32_t final_epoch);
  Trained train_epoch(uint32_t epoch, const std::vector<uint32_t>& order);
  EpochResult run_epoch(uint32_t epoch);
  void probe(EpochResult& e, const Snapshot& now);
  void print_epoch(const EpochResult& e);
  void test_phase();                                                 // run_summary.cpp
  RunResult write_results();                                        // run_summary.cpp
  void print_profile() const;                                       // run_summary.cpp
  nlohmann::json summary() const;                                    // run_summary.cpp

  gpu::Context& ctx_;
  const TrainConfig& cfg_;
  const data::SharpenSchedule schedule_;
  LrConfig lc_;
  LrSchedule lr_schedule_;
  std::vector<data::Corruption> corruptions_;
  bool balanced_ = false, penalised_ = false;
  data::AugmentConfig augment_;
  Ranks ranks_;
  nn::ModelSpec spec_;
  data::Source ds_;
  data::ChannelStats stats_;
  data::Split split_;
  std::vector<uint32_t> test_idx_;
  std::filesystem::path out_;
  nn::ModelOptions mo_;
  std::unique_ptr<nn::Model> model_, probe_model_;
  std::unique_ptr<ResolutionLadder> ladder_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<RankExchange> exchange_;
  std::unique_ptr<StoppingRules> stopping_;
  CheckpointState resumed_;
  RunResult result_;
  std::ofstream metrics_;
  // The schedule drives the input blur and, with --feature-smoothing, the
  // conv feature maps too; evaluation keeps the last step's feature sigma
  // (the network as trained) and never blurs its images.
  nn::StepParams eval_base_;
  std::string diverged_;
  double train_seconds_ = 0;  // the last epoch's training phase
  std::vector<std::vector<uint64_t>> confusion_;
};

}  // namespace fovea::train
