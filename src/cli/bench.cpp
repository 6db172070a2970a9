// `fovea bench`: a model's training step on synthetic data, the GPU time of
// every dispatch, device memory and, with --roofline, each kernel's place
// under the device's roofline.
#include <cstdio>

#include "cli/command.h"
#include "io/atomic_file.h"
#include "train/bench.h"

namespace fovea::cli {

namespace {

class Bench final : public Command {
 public:
  explicit Bench(CLI::App& app)
      : Command(app.add_subcommand(
            "bench", "Time a model's training step on synthetic data (no data set): images/s, GPU time per kernel, "
                     "device memory; with --roofline each kernel's FLOPs, bytes and fraction of the device's "
                     "roofline")) {
    sub_->add_option("--model", cfg_.model_path, "Model spec (JSON)")->required();
    sub_->add_option("--batch", cfg_.batch, "Batch size")->capture_default_str();
    sub_->add_option("--steps", cfg_.steps, "Timed training steps")->capture_default_str();
    sub_->add_option("--warmup", cfg_.warmup, "Untimed steps first (kernels compile at their first use)")
        ->capture_default_str();
    sub_->add_flag("--roofline", cfg_.roofline,
                   "Per kernel: FLOPs and bytes per step, GFLOP/s, GB/s, FLOP/byte and the fraction of "
                   "min(peak FLOP/s, FLOP/byte x peak bandwidth) it reaches");
    sub_->add_flag("--memory", cfg_.memory,
                   "Also list every buffer of the device arena: size, offset, and its life in the training step "
                   "(first and last dispatch using it); buffers whose lives do not overlap share bytes");
    sub_->add_option("--peak-gflops", cfg_.peak_gflops,
                     "The device's arithmetic peak, GFLOP/s (with --peak-gbps; default: measured by an FMA loop)");
    sub_->add_option("--peak-gbps", cfg_.peak_gbps,
                     "The device's memory bandwidth, GB/s (with --peak-gflops; default: measured by a streaming "
                     "copy)");
    sub_->add_option("--json", json_, "Also write the figures as JSON to this file");
    sub_->add_option("--seed", cfg_.seed, "Seed of the initial weights and the synthetic batches")
        ->capture_default_str();
    add_device_options(sub_, device_);
  }

  int run(const std::vector<std::string>&) override {
    auto ctx = open_context(device_);
    std::printf("device: %s (%s)\n", ctx->info().name.c_str(), gpu::device_type_name(ctx->info().type));
    std::fflush(stdout);
    const train::BenchResult r = train::run_bench(*ctx, cfg_);
    std::fputs(train::bench_text(r).c_str(), stdout);
    if (!json_.empty()) {
      io::write_file_atomically(json_, train::bench_json(r));
      std::printf("wrote %s\n", json_.c_str());
    }
    return finish_validation(*ctx);
  }

 private:
  train::BenchConfig cfg_;
  std::string json_;
  DeviceOptions device_;
};

}  // namespace

std::unique_ptr<Command> add_bench(CLI::App& app) { return std::make_unique<Bench>(app); }

}  // namespace fovea::cli
