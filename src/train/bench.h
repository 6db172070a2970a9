// `fovea bench`: the training step of a model timed on synthetic data
// (random pixels and labels; no data set needed), with per-kernel GPU time,
// the device memory of the step and, with roofline, each kernel's FLOPs and
// bytes per step against the device's peaks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nn/model.h"

namespace fovea::gpu { class Context; }

namespace fovea::train {

struct BenchConfig {
  std::string model_path;
  uint32_t batch = 128;
  uint32_t steps = 20;   // timed steps
  uint32_t warmup = 3;   // untimed steps first (pipelines compile at their first dispatch)
  bool roofline = false;
  bool memory = false;  // also list every view of the device arena (size, place, life)
  // The device's peaks for the roofline; 0 = measured by the micro-kernels
  // (a streaming copy and an FMA loop). Both or neither.
  double peak_gflops = 0, peak_gbps = 0;
  uint64_t seed = 0;
};

// One dispatch of the step: GPU time and work per step.
struct KernelFigures {
  std::string label, kernel;
  double ms = 0, flops = 0, bytes = 0;
  bool exact = false;  // FLOPs and bytes from the op's shapes, not estimated from its views
};

struct BenchResult {
  std::string device, model;
  uint32_t batch = 0, steps = 0, warmup = 0;
  double seconds = 0;            // wall clock of the timed steps
  double images_per_second = 0;
  bool timestamps = false;       // per-kernel times available
  std::vector<KernelFigures> kernels;  // sorted by time, longest first
  nn::MemoryFigures memory;
  std::string memory_listing;  // with BenchConfig::memory: nn::Model::memory_listing()
  bool roofline = false, peaks_measured = false;
  double peak_gflops = 0, peak_gbps = 0;
};

// Throws fovea::Error on a bad option (naming the flag) or file.
BenchResult run_bench(gpu::Context& ctx, const BenchConfig& cfg);
// The device's arithmetic (GFLOP/s) and streaming (GB/s) peaks, measured by
// the roofline micro-kernels (ops/roofline.h, ops::record_copy).
void measure_peaks(gpu::Context& ctx, double& gflops, double& gbps);
std::string bench_text(const BenchResult& r);
std::string bench_json(const BenchResult& r);

}  // namespace fovea::train
