#include "train/bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "gpu/context.h"
#include "gpu/recorder.h"
#include "ops/roofline.h"
#include "train/program_params.h"
#include "train/session.h"
#include "util/error.h"
#include "util/rng.h"

namespace fovea::train {

namespace {

using Clock = std::chrono::steady_clock;

// Runs `program` (one slot) once untimed, then `reps` times; each
// dispatch's shortest GPU time in ms (the peaks are best cases).
std::vector<double> best_times(gpu::Program& program, uint32_t reps) {
  gpu::Replayer r(program, 1, true);
  r.submit(r.acquire());
  r.finish();
  std::vector<double> best(program.dispatches().size(), 0.0);
  for (uint32_t i = 0; i < reps; ++i) {
    r.reset_profile();
    r.submit(r.acquire());
    r.finish();
    const auto prof = r.profile();
    for (size_t k = 0; k < best.size(); ++k)
      if (i == 0 || prof[k].total_ms < best[k]) best[k] = prof[k].total_ms;
  }
  return best;
}

// The fraction of the roofline a kernel reaches: its time at the peaks
// (compute or memory, whichever takes longer) over its measured time.
double roof_fraction(const KernelFigures& k, double gflops, double gbps) {
  const double bound_ms = std::max(k.flops / (gflops * 1e6), k.bytes / (gbps * 1e6));
  return k.ms > 0 ? bound_ms / k.ms : 0.0;
}

}  // namespace

void measure_peaks(gpu::Context& ctx, double& gflops, double& gbps) {
  if (!ctx.info().timestamps) throw Error("this device has no timestamp queries: give --peak-gflops and --peak-gbps");
  const uint64_t n = 8ull << 20;  // 32 MiB each way: far beyond any cache
  const ops::FmaLoop f{65536, 2048, 0.995f, 0.003f};
  gpu::Arena device(ctx, gpu::MemoryKind::Device, "roofline");
  gpu::Arena upload(ctx, gpu::MemoryKind::Upload, "roofline.upload");
  gpu::View a = device.reserve("copy.in", n * 4), b = device.reserve("copy.out", n * 4);
  ProgramParams params(upload, "step.params");
  device.commit();
  upload.commit();
  params.write({});
  gpu::Program p(ctx, "roofline");
  p.set_params(params.view());
  ops::record_stream_copy(p, n / 4, a, b, "peak.copy");
  ops::record_fma_loop(p, f, a, b, "peak.fma");
  const std::vector<double> ms = best_times(p, 5);
  gbps = ms[0] > 0 ? 2.0 * 4.0 * double(n) / (ms[0] * 1e6) : 0;
  gflops = ms[1] > 0 ? f.flops() / (ms[1] * 1e6) : 0;
  if (!(gbps > 0) || !(gflops > 0)) throw Error("the roofline micro-kernels took no measurable time");
}

BenchResult run_bench(gpu::Context& ctx, const BenchConfig& cfg) {
  if (cfg.batch == 0) throw Error("--batch must be at least 1");
  if (cfg.steps == 0) throw Error("--steps must be at least 1");
  if ((cfg.peak_gflops > 0) != (cfg.peak_gbps > 0) || cfg.peak_gflops < 0 || cfg.peak_gbps < 0 ||
      !std::isfinite(cfg.peak_gflops) || !std::isfinite(cfg.peak_gbps))
    throw Error("--peak-gflops and --peak-gbps go together, both positive (or neither: measured)");
  const nn::ModelSpec spec = nn::load_model_spec(cfg.model_path);
  nn::ModelOptions mo;
  mo.batch = cfg.batch;
  mo.channel_mean.assign(spec.channels, 0.5);
  mo.channel_std.assign(spec.channels, 0.25);
  mo.train_blur = false;  // as `fovea train` without a sharpening schedule
  nn::Model model(ctx, spec, mo);
  model.init_parameters(cfg.seed);

  BenchResult r;
  r.device = ctx.info().name;
  r.model = cfg.model_path;
  r.batch = cfg.batch;
  r.steps = cfg.steps;
  r.warmup = cfg.warmup;
  r.timestamps = ctx.info().timestamps;
  r.memory = model.memory_figures();
  if (cfg.memory) r.memory_listing = model.memory_listing();

  // Synthetic batches: random pixels and labels, a few distinct ones
  // cycled, copied into the upload ring every step as training does.
  const uint64_t image_bytes = uint64_t(cfg.batch) * spec.input_features();
  const uint32_t pool = 4;
  data::Rng rng(cfg.seed + 1);
  std::vector<uint8_t> pixels(image_bytes * pool);
  for (auto& v : pixels) v = uint8_t(rng.below(256));
  std::vector<uint32_t> labels(uint64_t(cfg.batch) * pool);
  for (auto& v : labels) v = uint32_t(rng.below(spec.classes));

  SessionOptions so;
  so.seed = cfg.seed;
  so.optim = mo.optim;
  so.profile = true;
  Session session(model, so);
  StepRate rate;
  rate.lr = 0.01;
  Clock::time_point t0;
  for (uint32_t s = 0; s < cfg.warmup + cfg.steps; ++s) {
    if (s == cfg.warmup) {
      session.finish_training();
      session.reset_profile();
      t0 = Clock::now();
    }
    session.train_step(rate, StepRows::whole(cfg.batch), [&](uint32_t slot, uint64_t, uint32_t rows) {
      fill_from_host(model, slot, pixels.data() + (s % pool) * image_bytes, labels.data() + uint64_t(s % pool) * cfg.batch,
                     rows);
    });
  }
  session.finish_training();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.images_per_second = double(cfg.steps) * cfg.batch / r.seconds;

  const auto& ds = model.train_program().dispatches();
  const auto prof = session.profile();
  for (size_t i = 0; i < ds.size(); ++i) {
    const gpu::DispatchCost c = gpu::cost_of(ds[i]);
    r.kernels.push_back({ds[i].label, ds[i].kernel->name, i < prof.size() ? prof[i].total_ms / cfg.steps : 0.0,
                         c.flops, c.bytes, c.exact});
  }
  std::stable_sort(r.kernels.begin(), r.kernels.end(),
                   [](const KernelFigures& a, const KernelFigures& b) { return a.ms > b.ms; });
  if (cfg.roofline) {
    r.roofline = true;
    r.peak_gflops = cfg.peak_gflops;
    r.peak_gbps = cfg.peak_gbps;
    r.peaks_measured = !(cfg.peak_gflops > 0);
    if (r.peaks_measured) measure_peaks(ctx, r.peak_gflops, r.peak_gbps);
  }
  return r;
}

std::string bench_text(const BenchResult& r) {
  std::string s;
  char line[512];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    s += line;
  };
  double gpu_ms = 0, flops = 0, bytes = 0;
  for (const auto& k : r.kernels) gpu_ms += k.ms, flops += k.flops, bytes += k.bytes;
  add("model %s, batch %u: %u warm-up + %u timed training steps on synthetic data\n", r.model.c_str(), r.batch,
      r.warmup, r.steps);
  add("train: %.1f images/s, %.3f ms per step (wall clock); GPU %.3f ms per step (sum of kernels)\n",
      r.images_per_second, 1e3 * r.seconds / r.steps, gpu_ms);
  add("work per step: %.4g GFLOP, %.4g MB moved\n", flops * 1e-9, bytes * 1e-6);
  s += nn::memory_text(r.memory);
  s += r.memory_listing;
  if (!r.timestamps) s += "(this device has no timestamp queries: no per-kernel times)\n";
  if (r.roofline)
    add("peaks: %.2f GFLOP/s, %.2f GB/s (%s); ridge at %.2f FLOP/byte\n", r.peak_gflops, r.peak_gbps,
        r.peaks_measured ? "measured: FMA loop, streaming copy" : "given", r.peak_gflops / r.peak_gbps);
  s += r.roofline ? "kernel                                      ms/step      %    GFLOP       MB  FLOP/B  GFLOP/s    GB/s  of roof  cost\n"
                  : "kernel                                      ms/step      %\n";
  for (const auto& k : r.kernels) {
    add("  %-40s %9.3f %6.1f", k.label.c_str(), k.ms, gpu_ms > 0 ? 100.0 * k.ms / gpu_ms : 0.0);
    if (r.roofline) {
      const double sec = k.ms * 1e-3;
      add(" %8.4f %8.3f %7.2f %8.2f %7.2f %7.1f%%  %s", k.flops * 1e-9, k.bytes * 1e-6,
          k.bytes > 0 ? k.flops / k.bytes : 0.0, sec > 0 ? k.flops / sec * 1e-9 : 0.0,
          sec > 0 ? k.bytes / sec * 1e-9 : 0.0, 100.0 * roof_fraction(k, r.peak_gflops, r.peak_gbps),
          k.exact ? "exact" : "est");
    }
    s += "\n";
  }
  add("  %-40s %9.3f\n", "total", gpu_ms);
  return s;
}

std::string bench_json(const BenchResult& r) {
  const nn::MemoryFigures& m = r.memory;
  nlohmann::json j = {{"device", r.device},
                      {"model", r.model},
                      {"batch", r.batch},
                      {"steps", r.steps},
                      {"warmup", r.warmup},
                      {"seconds", r.seconds},
                      {"images_per_second", r.images_per_second},
                      {"memory",
                       {{"parameters", m.parameters},
                        {"gradients", m.gradients},
                        {"optimizer_state", m.optimizer_state},
                        {"layer_state", m.layer_state},
                        {"saved_activations", m.saved_activations},
                        {"device_arena", m.device},
                        {"scratch", m.scratch},
                        {"upload", m.upload},
                        {"readback", m.readback},
                        {"needed", m.needed()},
                        {"total", m.total()},
                        {"ratio", m.ratio()}}}};
  if (r.roofline)
    j["peaks"] = {{"gflops", r.peak_gflops}, {"gbps", r.peak_gbps}, {"measured", r.peaks_measured}};
  nlohmann::json ks = nlohmann::json::array();
  for (const auto& k : r.kernels) {
    nlohmann::json e = {{"label", k.label}, {"kernel", k.kernel}, {"ms", k.ms},
                        {"flops", k.flops}, {"bytes", k.bytes},   {"exact", k.exact}};
    if (r.roofline) e["roof_fraction"] = roof_fraction(k, r.peak_gflops, r.peak_gbps);
    ks.push_back(e);
  }
  j["kernels"] = ks;
  return j.dump(2) + "\n";
}

}  // namespace fovea::train
