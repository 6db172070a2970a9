// Per-op speed of Fovea's kernels on the current device, in GFLOP/s, on the
// layer shapes of assets/models/fashion_cnn.json at batch 128: conv2d
// forward, input gradient and weight gradient, and the dense layer. Each op
// is recorded once as its own program and replayed; the time is the sum of
// its dispatches' GPU timestamps (median of the replays, after warm-up).
// Also the GEMM kernels alone at 1024^3 (gemm.nt.1024, gemm.nn.1024), and
// the optimizer step (sgd with momentum 0.9, adam) over fashion_cnn's
// 421,642 parameters: there "gflops" is billions of parameters updated per
// second. Prints one JSON object per line for tools/bench to pair with PyTorch.
//
//   build/fovea_bench_ops [--repeat N] [--device N|NAME]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "gpu/context.h"
#include "gpu/memory.h"
#include "gpu/recorder.h"
#include "gpu/tuner.h"
#include "nn/step_params.h"
#include "ops/conv2d.h"
#include "ops/dense.h"
#include "ops/optim.h"
#include "util/error.h"

using namespace fovea;

namespace {

struct Bench {
  std::string name;
  double flops;
  // Records the op into `p`; views come from `alloc` (planned, then committed).
  std::function<void(gpu::Program&, const std::function<gpu::View(uint64_t)>&)> record;
};

double time_op(gpu::Context& ctx, const Bench& b, int repeat) {
  nn::StepParams sp;
  sp.rows = 128;
  sp.lr = 1e-3f;  // and Adam's first-step scalars: a finite update, as in training
  const auto k = ops::OptimCoefficients(ops::optimizer_defaults(ops::Optimizer::Adam)).at(1, sp.lr);
  std::copy(k.begin(), k.end(), sp.optim);
  return gpu::median_replay_ms(ctx, std::as_bytes(std::span(&sp, 1)), repeat, b.record);
}

ops::Conv2dShape conv(uint32_t c, uint32_t hw, uint32_t o) {
  ops::Conv2dShape s;
  s.batch = 128, s.in_channels = c, s.height = s.width = hw, s.out_channels = o;
  s.kh = s.kw = 3, s.ph = s.pw = 1;
  return s;
}

double conv_flops(const ops::Conv2dShape& s) {
  return 2.0 * s.batch * s.out_channels * double(s.out_plane()) * (s.in_channels / s.groups) * s.taps();
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 10;
  std::string device;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--device" && i + 1 < argc) device = argv[++i];
    else {
      std::fprintf(stderr, "usage: fovea_bench_ops [--repeat N] [--device N|NAME]\n");
      return 2;
    }
  }
  try {
    gpu::ContextOptions o;
    o.device = device;
    auto ctx = gpu::Context::create(o);
    if (!ctx->info().timestamps) throw Error("device " + ctx->info().name + " has no timestamps");
    std::vector<Bench> benches;
    for (auto [name, s] : {std::pair{"conv1", conv(1, 28, 32)}, std::pair{"conv2", conv(32, 14, 64)}}) {
      const uint64_t nx = uint64_t(s.batch) * s.in_channels * s.height * s.width;
      const uint64_t nw = uint64_t(s.out_channels) * s.in_channels * s.taps();
      const uint64_t ny = uint64_t(s.batch) * s.out_channels * s.out_plane();
      benches.push_back({std::string(name) + ".forward", conv_flops(s), [s, nx, nw, ny](auto& p, auto alloc) {
                           auto x = alloc(nx), w = alloc(nw), b = alloc(s.out_channels), y = alloc(ny), c = alloc(s.cols_floats());
                           ops::record_conv2d_forward(p, s, x, w, b, y, c, "conv");
                         }});
      benches.push_back({std::string(name) + ".backward_input", conv_flops(s), [s, nx, nw, ny](auto& p, auto alloc) {
                           auto dy = alloc(ny), w = alloc(nw), dx = alloc(nx), dc = alloc(s.cols_floats());
                           ops::record_conv2d_backward_input(p, s, dy, w, dx, dc, "conv");
                         }});
      benches.push_back({std::string(name) + ".backward_weight", conv_flops(s), [s, nw, ny](auto& p, auto alloc) {
                           auto c = alloc(s.cols_floats()), dy = alloc(ny), dw = alloc(nw), db = alloc(s.out_channels);
                           ops::record_conv2d_backward_params(p, s, c, dy, dw, db, "conv");
                         }});
    }
    ops::DenseShape d{128, 3136, 128, true};
    const double dflops = 2.0 * d.batch * d.in * d.out;
    benches.push_back({"dense.forward", dflops, [d](auto& p, auto alloc) {
                         auto x = alloc(uint64_t(d.batch) * d.in), w = alloc(uint64_t(d.out) * d.in), b = alloc(d.out),
                              y = alloc(uint64_t(d.batch) * d.out);
                         ops::record_dense_forward(p, d, x, w, b, y, "dense");
                       }});
    benches.push_back({"dense.backward_weight", dflops, [d](auto& p, auto alloc) {
                         auto x = alloc(uint64_t(d.batch) * d.in), dy = alloc(uint64_t(d.batch) * d.out),
                              dw = alloc(uint64_t(d.out) * d.in), db = alloc(d.out);
                         ops::record_dense_backward_params(p, d, x, dy, dw, db, "dense");
                       }});
    // The GEMM kernels alone at 1024^3, against OpenBLAS SGEMM (torch.mm) in
    // tools/bench_ops_torch.py: "nt" is the dense forward's form (both
    // operands k-contiguous), "nn" the input gradient's.
    for (bool nt : {true, false}) {
      const uint32_t n = 1024;
      ops::GemmShape g{n, n, n, n, 1, nt ? 1u : n, nt ? n : 1u, n};
      benches.push_back({nt ? "gemm.nt.1024" : "gemm.nn.1024", 2.0 * n * n * n, [g, n](auto& p, auto alloc) {
                           auto a = alloc(uint64_t(n) * n), b = alloc(uint64_t(n) * n), c = alloc(uint64_t(n) * n);
                           ops::record_gemm(p, g, a, b, gpu::View{}, c, "gemm");
                         }});
    }
    const uint64_t np = 421642;  // fashion_cnn's parameters (tools/bench_ops_torch.py: the same tensors)
    for (ops::Optimizer kind : {ops::Optimizer::Sgd, ops::Optimizer::Adam}) {
      const ops::OptimConfig c = ops::optimizer_defaults(kind);  // sgd: momentum 0.9
      benches.push_back({"optim." + ops::optimizer_name(kind), double(np), [c, np](auto& p, auto alloc) {
                           auto w = alloc(np), g = alloc(np), st = alloc(ops::optimizer_state_floats(c, np));
                           ops::record_optimizer(p, np, c, w, g, st, "optim");
                         }});
    }
    for (const Bench& b : benches) {
      const double ms = time_op(*ctx, b, repeat);
      std::printf("{\"op\": \"%s\", \"ms\": %.4f, \"gflops\": %.3f, \"device\": \"%s\"}\n", b.name.c_str(), ms,
                  b.flops / (ms * 1e6), ctx->info().name.c_str());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fovea_bench_ops: %s\n", e.what());
    return 1;
  }
  return 0;
}
