#include "ops/norm.h"

#include <algorithm>

#include "ops/kernel_policy.h"
#include "util/error.h"

namespace fovea::ops {
namespace {

constexpr uint32_t kLanes = 64;
// Units each lane of norm/reduce sums per chunk: a chunk is 64 x 256 =
// 16,384 units, so a workgroup loops 256 times plus a 6-step tree.
constexpr uint32_t kChunkIters = 256;
// Runs (see RunGrid) per lane of the elementwise kernels.
constexpr uint32_t kRunsPerLane = 8;
// What any one invocation may loop in total (lavapipe stops a SIMD group
// silently after 65,535 iterations; see docs/architecture.md).
constexpr uint64_t kLoopBudget = 16384;

// How one layer maps onto the shared kernels. Statistics group s of sample n
// is s = n*G + g (BatchNorm: s = c, no sample); the channels of group g are
// g*Cg .. g*Cg + Cg - 1.
struct Layout {
  uint32_t S = 0;            // statistics groups
  uint32_t G = 0, Cg = 0;    // groups per sample (BatchNorm: C) and channels per group
  bool per_sample = true;    // false for BatchNorm (groups span the batch)
  bool elementwise = false;  // LayerNorm: affine over [C, H, W]
  bool affine = false;
  uint32_t P = 0;            // affine row length (floats)
};

uint64_t plane(const NormShape& s) { return uint64_t(s.height) * s.width; }
uint64_t total(const NormShape& s) { return uint64_t(s.batch) * s.channels * plane(s); }
NormShape with_rows(const NormShape& s, const RowWindow& r) { return {uint32_t(r.rows), s.channels, s.height, s.width}; }

void check_shape(const NormShape& s, const std::string& label) {
  if (s.batch == 0 || s.channels == 0 || s.height == 0 || s.width == 0)
    throw Error(label + ": empty shape " + std::to_string(s.batch) + "x" +
                std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
                std::to_string(s.width));
  if (total(s) >= (1ull << 31))
    throw Error(label + ": " + std::to_string(total(s)) + " values, more than 2^31");
}

Layout layout_of(const NormShape& s, uint32_t G, uint32_t Cg, bool per_sample, bool elementwise,
                 const View& affine) {
  Layout l;
  l.G = G;
  l.Cg = Cg;
  l.per_sample = per_sample;
  l.elementwise = elementwise;
  l.S = per_sample ? s.batch * G : s.channels;
  l.affine = affine.valid();
  l.P = elementwise ? uint32_t(s.channels * plane(s)) : s.channels;
  return l;
}

// 4 (vec4 units) when H*W is a multiple of 4 and every tensor view can be
// bound as vec4 array, else 1.
uint32_t vec_of(const NormShape& s, std::initializer_list<const View*> views) {
  if (plane(s) % 4 != 0) return 1;
  for (const View* v : views)
    if (v->valid() && (v->offset % 16 != 0 || v->slot_stride % 16 != 0)) return 1;
  return 4;
}

std::string kernel_name(const char* stem, uint32_t vec) {
  return std::string("norm/") + stem + (vec == 4 ? "_vec4" : "");
}

void check_budget(uint64_t iterations, const std::string& label, const std::string& what) {
  if (iterations > kLoopBudget)
    throw Error(label + ": " + what + " needs " + std::to_string(iterations) +
                " loop iterations in one invocation, more than " + std::to_string(kLoopBudget));
}

uint32_t largest_divisor(uint64_t n, uint32_t max) {
  uint32_t d = max;
  while (n % d != 0) --d;
  return d;
}

// The elementwise kernels (norm/apply, norm/apply_backward) walk runs of
// `run` consecutive units of one plane: run is the largest divisor of the
// plane's units up to 8. Their grid-stride loop advances mixed-radix digits
// (HW runs, Cg, G) of norm.glsl's Pos by the stride's digits.
struct RunGrid {
  uint32_t run = 1, hw = 0, runs = 0, groups = 0;
  uint32_t d_hw = 0, d_ci = 0, d_g = 0, d_n = 0;
};
RunGrid run_grid(const NormShape& s, const Layout& l, uint32_t vec, const std::string& label) {
  const uint64_t hw = plane(s) / vec;
  RunGrid g;
  g.run = largest_divisor(hw, 8);
  g.hw = uint32_t(hw / g.run);
  g.runs = uint32_t(total(s) / vec / g.run);
  // About kRunsPerLane runs per lane, so the divisions that place a lane's
  // first run (scalarised on lavapipe: ~25 cycles per lane each) are paid
  // once per several runs, not per run.
  g.groups = uint32_t(std::clamp<uint64_t>(ceil_div(g.runs, uint64_t(kLanes) * kRunsPerLane), 1,
                                           65535));
  const uint64_t stride = uint64_t(g.groups) * kLanes;
  check_budget(ceil_div(g.runs, stride) * g.run, label, "the elementwise pass");
  g.d_hw = uint32_t(stride % g.hw);
  g.d_ci = uint32_t(stride / g.hw % l.Cg);
  g.d_g = uint32_t(stride / g.hw / l.Cg % l.G);
  g.d_n = uint32_t(stride / g.hw / l.Cg / l.G);
  return g;
}

void check_views(const NormShape& s, const Layout& l, const View& x, const View& y,
                 const View& saved, const View& affine, const std::string& label) {
  require_floats(x, total(s), label + " (x)");
  require_floats(y, total(s), label + " (output)");
  require_floats(saved, 2ull * l.S, label + " (saved mean/invstd)");
  if (affine.valid()) require_floats(affine, 2ull * l.P, label + " (affine)");
}

// Each lane's loop count in norm/reduce for D units per group.
uint32_t reduce_iters(uint64_t D) {
  return uint32_t(std::min<uint64_t>(ceil_div(D, kLanes), kChunkIters));
}

// One window of rows of a BatchNorm reduction over views larger than the
// storage range: rows [row0, row0 + batch) write their chunks at k0 of
// k_total per group into the shared `partials`, shifted by the first row's
// values (`shift`: row 0 of x), so the finalize kernels see one reduction.
struct ReduceWindow {
  uint32_t row0 = 0, k0 = 0, k_total = 0;
  View shift, partials;
};

// Units per group and lane iterations per chunk of norm/reduce.
struct ReduceGeometry {
  uint64_t L = 0, D = 0;
  uint32_t iters = 0, chunks = 0;
};
ReduceGeometry reduce_geometry(const NormShape& s, const Layout& l, uint32_t vec, uint32_t planes) {
  const uint64_t hw = plane(s) / vec;
  ReduceGeometry g;
  g.L = l.per_sample ? uint64_t(l.Cg) * hw / planes : hw;
  g.D = l.per_sample ? g.L : g.L * s.batch;
  g.iters = reduce_iters(g.D);
  g.chunks = ceil_div(g.D, uint64_t(kLanes) * g.iters);
  return g;
}

// norm/reduce over every reduction group: statistics (grad = false) or the
// backward sums. Returns the partials [R, K, 3] (in `dest` when valid, else
// in scratch); K is written to `chunks`.
// Backward reduction groups are planes: GroupNorm reduces each (n, c) plane
// separately (its dgamma needs per-channel sums), so R = S * planes.
View record_reduce(Program& p, const NormShape& s, const Layout& l, uint32_t vec, bool grad,
                   const View& x, const View& dy, const View& affine, uint32_t planes,
                   uint32_t& chunks, const std::string& label, const ReduceWindow* win = nullptr,
                   const View& dest = View{}) {
  const uint64_t hw = plane(s) / vec;
  const uint64_t R = uint64_t(l.S) * planes;
  const ReduceGeometry geo = reduce_geometry(s, l, vec, planes);
  const uint64_t L = geo.L;
  const uint32_t iters = geo.iters;
  chunks = geo.chunks;
  const uint64_t wgs = R * chunks;
  const uint32_t gx = uint32_t(std::min<uint64_t>(wgs, 65535)), gy = ceil_div(wgs, gx);
  if (gy > 65535) throw Error(label + ": too many groups to reduce");
  if (dest.valid()) require_floats(dest, wgs * 3, label + " (partials)");
  View partials = win ? win->partials : dest.valid() ? dest : p.scratch(label + ".partials", wgs * 3 * 4);
  struct {
    uint32_t L, seg_stride, segments, per_sample, iters, chunks, groups;
    uint32_t row0, k0, k_total, shift_bound;
  } push{uint32_t(L),       uint32_t(s.channels * hw), l.per_sample ? 1u : s.batch,
         l.per_sample ? l.G * planes : 0u, iters, chunks, uint32_t(R),
         win ? win->row0 : 0u, win ? win->k0 : 0u, win ? win->k_total : chunks, win ? 1u : 0u};
  const bool ln_gamma = grad && l.elementwise && l.affine;
  // Lanes sweep memory in blocks of the subgroup size (see norm/reduce).
  const ReduceChoice choice = KernelPolicy::of(p.context()).reduce(64);
  const uint32_t spec[] = {grad ? 1u : 0u, ln_gamma ? 1u : 0u, choice.width};
  const char* stem = choice.subgroup ? "reduce_subgroup" : "reduce";
  const auto& k = p.context().kernels().get(kernel_name(stem, vec), spec);
  // Unused bindings of the variant still need a buffer: x stands in (read).
  p.dispatch(label + (grad ? ".reduce_grad" : ".reduce"), k,
             {gpu::in(x), gpu::in(grad ? dy : x), gpu::in(win ? win->shift : ln_gamma ? affine : x),
              gpu::out(partials)},
             push, gx, gy);
  return partials;
}

// record_reduce, for BatchNorm in windows of rows when x or dy is over the
// storage range: every window's chunks go to one partials array, in window
// order, so the finalize kernels add them up as one reduction.
View record_batch_reduce(Program& p, const NormShape& s, const Layout& l, uint32_t vec, bool grad,
                         const View& x, const View& dy, uint32_t& chunks, const std::string& label) {
  const uint64_t row = uint64_t(s.channels) * plane(s) * 4;
  const auto ws = row_windows(p.context(), s.batch, {{x, row}, {dy, grad ? row : 0}}, label);
  if (l.per_sample || ws.size() == 1) return record_reduce(p, s, l, vec, grad, x, dy, x, 1, chunks, label);
  ReduceWindow win;
  for (const RowWindow& r : ws) win.k_total += reduce_geometry(with_rows(s, r), l, vec, 1).chunks;
  win.shift = x.sub(0, row, x.name + "[0]");
  win.partials = p.scratch(label + ".partials", uint64_t(l.S) * win.k_total * 3 * 4);
  for (const RowWindow& r : ws) {
    win.row0 = uint32_t(r.first);
    uint32_t k = 0;
    record_reduce(p, with_rows(s, r), l, vec, grad, row_window(x, row, r), row_window(dy, row, r), x, 1, k,
                  label, &win);
    win.k0 += k;
  }
  chunks = win.k_total;
  return win.partials;
}

// Forward statistics: reduce, then norm/finalize_stats into saved (and the
// running statistics when `running` is valid). With `summed` valid (synced
// BatchNorm) there is no reduce: summed holds the host's sums over the ranks.
void record_statistics(Program& p, const NormShape& s, const Layout& l, uint32_t vec, float eps,
                       float momentum, const View& x, const View& saved, const View& running,
                       const std::string& label, const View& summed = View{}) {
  uint32_t K = 1;
  if (summed.valid()) require_floats(summed, 3ull * l.S, label + " (summed partials)");
  View partials = summed.valid() ? summed
                                 : record_batch_reduce(p, s, l, vec, false, x, x, K, label + ".stats");
  const uint32_t groups = stride_groups(l.S);
  check_budget(uint64_t(ceil_div(l.S, uint64_t(groups) * kLanes)) * K, label, "the statistics");
  struct {
    uint32_t S, K, count, per_sample, batch;
    float eps, momentum;
  } push{l.S, K, uint32_t(l.per_sample ? l.Cg * plane(s) : plane(s)), l.per_sample ? l.G : 0u,
         s.batch, eps, momentum};
  const uint32_t spec[] = {running.valid() ? 1u : 0u, summed.valid() ? 1u : 0u};
  // Without running statistics saved stands in for the (unused) binding 3.
  p.dispatch(label + ".finalize", p.context().kernels().get("norm/finalize_stats", spec),
             {gpu::in(partials), gpu::out(saved), gpu::out(running.valid() ? running : saved)},
             push, groups);
}

// y = (x - mean) invstd [gamma + beta] with stats = saved (or, from_var, the
// running statistics).
// BatchNorm's elementwise passes run in windows of rows [row0, row0 + batch)
// when a tensor is over the storage range (the per-sample norms index their
// statistics by row, so they never split).
void record_apply(Program& p, const NormShape& s, const Layout& l, uint32_t vec, float eps,
                  bool from_var, const View& x, const View& stats, const View& affine,
                  const View& y, const std::string& label, uint32_t row0 = 0) {
  const uint64_t row = uint64_t(s.channels) * plane(s) * 4;
  if (const auto ws = row_windows(p.context(), s.batch, {{x, row}, {y, row}}, label);
      !l.per_sample && ws.size() > 1) {
    for (const RowWindow& r : ws)
      record_apply(p, with_rows(s, r), l, vec, eps, from_var, row_window(x, row, r), stats, affine,
                   row_window(y, row, r), label, uint32_t(r.first));
    return;
  }
  const RunGrid g = run_grid(s, l, vec, label);
  struct {
    uint32_t HW, Cg, G, runs, d_hw, d_ci, d_g, d_n, stat_n, S, P;
    float eps;
    uint32_t row0;
  } push{g.hw, l.Cg, l.G, g.runs, g.d_hw, g.d_ci, g.d_g, g.d_n, l.per_sample ? l.G : 0u,
         l.S, l.elementwise ? l.P / vec : l.P, eps, row0};
  const uint32_t spec[] = {l.affine ? 1u : 0u, l.elementwise ? 1u : 0u, from_var ? 1u : 0u,
                           g.run};
  p.dispatch(label + ".apply", p.context().kernels().get(kernel_name("apply", vec), spec),
             {gpu::in(x), gpu::in(stats), gpu::in(l.affine ? affine : x), gpu::out(y)}, push,
             g.groups);
}

void record_forward(Program& p, const NormShape& s, const Layout& l, float eps, const View& x,
                    const View& affine, const View& y, const View& saved,
                    const std::string& label) {
  check_views(s, l, x, y, saved, affine, label);
  const uint32_t vec = vec_of(s, {&x, &y, l.elementwise ? &affine : &x});
  record_statistics(p, s, l, vec, eps, 0.0f, x, saved, View{}, label);
  record_apply(p, s, l, vec, eps, false, x, saved, affine, y, label);
}

// dx from the coefficients (norm/apply_backward); BatchNorm in windows of
// rows, as record_apply.
void record_apply_grad(Program& p, const NormShape& s, const Layout& l, uint32_t vec, uint32_t R,
                       uint32_t base, const View& x, const View& dy, const View& coef, const View& dx,
                       const std::string& label, uint32_t row0 = 0) {
  const uint64_t row = uint64_t(s.channels) * plane(s) * 4;
  if (const auto ws = row_windows(p.context(), s.batch, {{x, row}, {dy, row}, {dx, row}}, label);
      !l.per_sample && ws.size() > 1) {
    for (const RowWindow& r : ws)
      record_apply_grad(p, with_rows(s, r), l, vec, R, base, row_window(x, row, r), row_window(dy, row, r), coef,
                        row_window(dx, row, r), label, uint32_t(r.first));
    return;
  }
  const RunGrid g = run_grid(s, l, vec, label);
  const bool ln_gamma = l.elementwise && l.affine;
  // Plane of a unit: BatchNorm c; InstanceNorm and GroupNorm n*C + c;
  // LayerNorm n.
  const uint32_t q_n = !l.per_sample ? 0u : l.elementwise ? 1u : s.channels;
  const uint32_t q_c = l.elementwise ? 0u : 1u;
  struct {
    uint32_t HW, Cg, G, runs, d_hw, d_ci, d_g, d_n, q_n, q_c, R, base, row0;
  } push{g.hw, l.Cg, l.G, g.runs, g.d_hw, g.d_ci, g.d_g, g.d_n, q_n, q_c, R, base, row0};
  const uint32_t spec[] = {ln_gamma ? 1u : 0u, g.run};
  p.dispatch(label + ".apply_grad", p.context().kernels().get(kernel_name("apply_backward", vec), spec),
             {gpu::in(x), gpu::in(dy), gpu::in(coef), gpu::out(dx)}, push, g.groups);
}

// Backward: reduce (plane sums), finalize_grad (coefficients), apply_backward
// (dx), then the parameter gradients.
// frozen (BatchNorm evaluation): saved is the running [mean, var] and eps
// turns var into invstd; the statistics are constants of the backward.
// summed (synced BatchNorm): no reduce; the host's sums over the ranks
// [R, 3], then this rank's partials [R, sync_chunks, 3].
void record_backward(Program& p, const NormShape& s, const Layout& l, const View& x,
                     const View& dy, const View& affine, const View& saved, const View& dx,
                     const View& daffine, const std::string& label, bool frozen = false,
                     float eps = 0.0f, const View& summed = View{}, uint32_t sync_chunks = 0) {
  check_views(s, l, x, dx, saved, affine, label);
  require_floats(dy, total(s), label + " (dy)");
  if (l.affine != daffine.valid())
    throw Error(label + ": daffine must be given exactly when affine is");
  if (l.affine) require_floats(daffine, 2ull * l.P, label + " (daffine)");
  if (l.per_sample && l.affine && s.batch > kNormMaxBatch)
    throw Error(label + ": batch " + std::to_string(s.batch) + " is above " +
                std::to_string(kNormMaxBatch) + " for the parameter gradients");
  const bool ln_gamma = l.elementwise && l.affine;
  const uint32_t vec =
      vec_of(s, {&x, &dy, &dx, ln_gamma ? &affine : &x, ln_gamma ? &daffine : &x});
  // Planes per statistics group: the channels of a GroupNorm group (InstanceNorm
  // and BatchNorm have one; LayerNorm reduces each sample as one plane).
  const uint32_t planes = l.elementwise ? 1 : l.Cg;
  const uint32_t R = l.S * planes;

  uint32_t K = sync_chunks;
  if (summed.valid())
    require_floats(summed, 3ull * R * (1 + sync_chunks), label + " (summed partials)");
  View partials = summed.valid()     ? summed
                  : l.per_sample ? record_reduce(p, s, l, vec, true, x, dy, affine, planes, K, label + ".grad")
                                 : record_batch_reduce(p, s, l, vec, true, x, dy, K, label + ".grad");

  const uint32_t base = ln_gamma ? l.P : 0;  // LayerNorm's gamma copy heads coef
  View coef = p.scratch(label + ".coef", (uint64_t(base) + 5ull * R) * 4);
  {
    const uint32_t groups = stride_groups(std::max(l.S, base));
    const uint64_t stride = uint64_t(groups) * kLanes;
    check_budget(ceil_div(l.S, stride) * uint64_t(planes) * (K + 2) + ceil_div(base, stride),
                 label, "the backward coefficients");
    struct {
      uint32_t S, K, Cg, G, count, per_sample, batch, R, base;
      float eps;
    } push{l.S, K, planes, l.G, uint32_t(l.per_sample ? l.Cg * plane(s) : plane(s)),
           l.per_sample ? l.G : 0u, s.batch, R, base, eps};
    const uint32_t spec[] = {l.affine ? 1u : 0u, ln_gamma ? 1u : 0u, frozen ? 1u : 0u,
                             summed.valid() ? 1u : 0u};
    p.dispatch(label + ".finalize_grad", p.context().kernels().get("norm/finalize_grad", spec),
               {gpu::in(partials), gpu::in(saved), gpu::in(l.affine ? affine : saved),
                gpu::out(coef)},
               push, groups);
  }
  record_apply_grad(p, s, l, vec, R, base, x, dy, coef, dx, label);
  if (!l.affine) return;
  if (l.elementwise) {
    // 64 bytes per lane and row
    const uint32_t units = l.P / vec, run = largest_divisor(units, 16 / vec);
    const uint32_t groups = stride_groups(units / run);
    check_budget(uint64_t(ceil_div(units / run, uint64_t(groups) * kLanes)) * s.batch * run,
                 label, "the parameter gradients");
    struct {
      uint32_t P, batch;
    } push{units, s.batch};
    const uint32_t spec[] = {run};
    p.dispatch(label + ".param_grads",
               p.context().kernels().get(kernel_name("layer_param_grads", vec), spec),
               {gpu::in(x), gpu::in(dy), gpu::in(saved), gpu::out(daffine)}, push, groups);
    return;
  }
  struct {
    uint32_t C, samples, a_row, x_row;
  } push{s.channels, l.per_sample ? s.batch : 1u, base + 3 * R, base + 4 * R};
  p.dispatch(label + ".param_grads", p.context().kernels().get("norm/param_grads"),
             {gpu::in(coef), gpu::out(daffine)}, push, ceil_div(s.channels, kLanes));
}

Layout batch_layout(const NormShape& s, const View& affine, const std::string& label) {
  check_shape(s, label);
  return layout_of(s, s.channels, 1, false, false, affine);
}

void check_training_batch(const NormShape& s, const std::string& label) {
  if (uint64_t(s.batch) * plane(s) == 1)
    throw Error(label + ": expected more than 1 value per channel when training (batch " +
                std::to_string(s.batch) + ", " + std::to_string(s.height) + "x" +
                std::to_string(s.width) + " per channel)");
}

}  // namespace

void record_batchnorm_forward_train(Program& p, const NormShape& s, float eps, float momentum,
                                    const View& x, const View& affine, const View& y,
                                    const View& saved, const View& running,
                                    const std::string& label) {
  const Layout l = batch_layout(s, affine, label);
  check_training_batch(s, label);
  check_views(s, l, x, y, saved, affine, label);
  require_floats(running, 2ull * s.channels, label + " (running mean/var)");
  const uint32_t vec = vec_of(s, {&x, &y});
  record_statistics(p, s, l, vec, eps, momentum, x, saved, running, label);
  record_apply(p, s, l, vec, eps, false, x, saved, affine, y, label);
}

uint64_t batchnorm_sync_floats(const NormShape& s) {
  // The most chunks: scalar units (vec 1).
  const uint64_t D = plane(s) * s.batch;
  return 3ull * s.channels * (1 + ceil_div(D, uint64_t(kLanes) * reduce_iters(D)));
}

uint32_t record_batchnorm_partials(Program& p, const NormShape& s, bool backward, const View& x,
                                   const View& dy, const View& partials,
                                   const std::string& label) {
  const Layout l = batch_layout(s, View{}, label);
  check_training_batch(s, label);
  require_floats(x, total(s), label + " (x)");
  if (backward) require_floats(dy, total(s), label + " (dy)");
  uint32_t K = 0;
  record_reduce(p, s, l, backward ? vec_of(s, {&x, &dy}) : vec_of(s, {&x}), backward, x,
                backward ? dy : x, x, 1, K, label + (backward ? ".grad" : ".stats"), nullptr, partials);
  return K;
}

void record_batchnorm_forward_synced(Program& p, const NormShape& s, float eps, float momentum,
                                     const View& x, const View& affine, const View& y,
                                     const View& saved, const View& running, const View& summed,
                                     const std::string& label) {
  const Layout l = batch_layout(s, affine, label);
  check_views(s, l, x, y, saved, affine, label);
  require_floats(running, 2ull * s.channels, label + " (running mean/var)");
  const uint32_t vec = vec_of(s, {&x, &y});
  record_statistics(p, s, l, vec, eps, momentum, x, saved, running, label, summed);
  record_apply(p, s, l, vec, eps, false, x, saved, affine, y, label);
}

void record_batchnorm_backward_synced(Program& p, const NormShape& s, const View& x,
                                      const View& dy, const View& affine, const View& saved,
                                      const View& dx, const View& daffine, const View& summed,
                                      uint32_t chunks, const std::string& label) {
  const Layout l = batch_layout(s, affine, label);
  if (!summed.valid() || chunks == 0) throw Error(label + ": no summed partials to finish from");
  record_backward(p, s, l, x, dy, affine, saved, dx, daffine, label, false, 0.0f, summed, chunks);
}

void record_batchnorm_forward_eval(Program& p, const NormShape& s, float eps, const View& x,
                                   const View& affine, const View& running, const View& y,
                                   const std::string& label) {
  const Layout l = batch_layout(s, affine, label);
  check_views(s, l, x, y, running, affine, label);
  record_apply(p, s, l, vec_of(s, {&x, &y}), eps, true, x, running, affine, y, label);
}

void record_batchnorm_backward(Program& p, const NormShape& s, const View& x, const View& dy,
                               const View& affine, const View& saved, const View& dx,
                               const View& daffine, const std::string& label) {
  const Layout l = batch_layout(s, affine, label);
  check_training_batch(s, label);
  record_backward(p, s, l, x, dy, affine, saved, dx, daffine, label);
}

void record_batchnorm_backward_eval(Program& p, const NormShape& s, float eps, const View& x,
                                    const View& dy, const View& affine, const View& running,
                                    const View& dx, const View& daffine, const std::string& label) {
  const Layout l = batch_layout(s, affine, label);
  record_backward(p, s, l, x, dy, affine, running, dx, daffine, label, true, eps);
}

void record_layernorm_forward(Program& p, const NormShape& s, float eps, const View& x,
                              const View& affine, const View& y, const View& saved,
                              const std::string& label) {
  check_shape(s, label);
  record_forward(p, s, layout_of(s, 1, s.channels, true, true, affine), eps, x, affine, y, saved,
                 label);
}

void record_layernorm_backward(Program& p, const NormShape& s, const View& x, const View& dy,
                               const View& affine, const View& saved, const View& dx,
                               const View& daffine, const std::string& label) {
  check_shape(s, label);
  record_backward(p, s, layout_of(s, 1, s.channels, true, true, affine), x, dy, affine, saved, dx,
                  daffine, label);
}

// PyTorch's instance_norm rejects planes of one value ("Expected more than 1
// spatial element when training"): their variance is 0 by construction.
static void check_instance_plane(const NormShape& s, const std::string& label) {
  check_shape(s, label);
  if (plane(s) == 1)
    throw Error(label + ": expected more than 1 spatial element when training (H*W = 1)");
}

void record_instancenorm_forward(Program& p, const NormShape& s, float eps, const View& x,
                                 const View& affine, const View& y, const View& saved,
                                 const std::string& label) {
  check_instance_plane(s, label);
  record_forward(p, s, layout_of(s, s.channels, 1, true, false, affine), eps, x, affine, y, saved,
                 label);
}

void record_instancenorm_backward(Program& p, const NormShape& s, const View& x, const View& dy,
                                  const View& affine, const View& saved, const View& dx,
                                  const View& daffine, const std::string& label) {
  check_instance_plane(s, label);
  record_backward(p, s, layout_of(s, s.channels, 1, true, false, affine), x, dy, affine, saved,
                  dx, daffine, label);
}

static Layout group_layout(const NormShape& s, uint32_t groups, const View& affine,
                           const std::string& label) {
  check_shape(s, label);
  if (groups == 0 || s.channels % groups != 0)
    throw Error(label + ": " + std::to_string(s.channels) + " channels do not split into " +
                std::to_string(groups) + " groups");
  return layout_of(s, groups, s.channels / groups, true, false, affine);
}

void record_groupnorm_forward(Program& p, const NormShape& s, uint32_t groups, float eps,
                              const View& x, const View& affine, const View& y,
                              const View& saved, const std::string& label) {
  record_forward(p, s, group_layout(s, groups, affine, label), eps, x, affine, y, saved, label);
}

void record_groupnorm_backward(Program& p, const NormShape& s, uint32_t groups, const View& x,
                               const View& dy, const View& affine, const View& saved,
                               const View& dx, const View& daffine, const std::string& label) {
  record_backward(p, s, group_layout(s, groups, affine, label), x, dy, affine, saved, dx, daffine,
                  label);
}

}  // namespace fovea::ops
