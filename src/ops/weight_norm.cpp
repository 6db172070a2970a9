#include "ops/weight_norm.h"

#include <algorithm>
#include <cmath>

#include "ops/dense.h"
#include "ops/kernel_policy.h"
#include "util/error.h"

namespace fovea::ops {

namespace {

constexpr uint32_t kLanes = 64;
constexpr uint32_t kMaxIters = kWeightNormChunk / kLanes;  // 256 per lane
constexpr uint32_t kMaxGroups = 65535;

// How a row of `cols` floats is reduced (see shaders/weight_norm/weight_norm.glsl):
// in units of 4 floats when cols % 4 == 0, each of `chunks` workgroups
// covering 64*iters units.
struct RowSplit {
  bool vec4 = false;
  uint32_t units = 0, iters = 0, chunks = 0;
};

RowSplit split_row(uint64_t cols) {
  RowSplit r;
  r.vec4 = cols % 4 == 0;
  r.units = uint32_t(r.vec4 ? cols / 4 : cols);
  r.iters = std::min<uint32_t>(ceil_div(r.units, kLanes), kMaxIters);
  r.chunks = ceil_div(r.units, uint64_t(kLanes) * r.iters);
  return r;
}

// Lanes that sweep contiguous memory together: the subgroup size, a power of
// 2 no larger than the 64-lane workgroup.
uint32_t lane_width(const Program& p) { return KernelPolicy::of(p.context()).reduce(kLanes).width; }

// Rows go to the y dimension of a dispatch, continued in z past 65,535.
struct RowGroups {
  uint32_t y = 1, z = 1;
};
RowGroups row_groups(uint32_t rows) {
  RowGroups g;
  g.y = std::min(rows, kMaxGroups);
  g.z = ceil_div(rows, g.y);
  return g;
}

void check_matrix(uint32_t rows, uint32_t cols, const std::string& label) {
  if (rows == 0 || cols == 0)
    throw Error(label + ": empty weight (" + std::to_string(rows) + " x " + std::to_string(cols) +
                ")");
  // The kernels index with 32-bit integers.
  if (uint64_t(rows) * cols >= (1ull << 31))
    throw Error(label + ": " + std::to_string(rows) + " x " + std::to_string(cols) +
                " weight has 2^31 or more values");
}

// Partial sums per (row, chunk) of weight_norm/ws_reduce; BACKWARD 0 sums
// (a - a[row, 0]) and its square, BACKWARD 1 sums g and g*a.
View record_row_sums(Program& p, uint32_t rows, uint32_t cols, bool backward, const View& a,
                     const View& g, const std::string& label) {
  const RowSplit s = split_row(cols);
  if (s.chunks > kWeightNormChunk)
    throw Error(label + ": rows of " + std::to_string(cols) +
                " values are too long (at most 2^28 units: 4 values each when the count is a "
                "multiple of 4, else 1)");
  const View partials = p.scratch(label + ".partials", uint64_t(rows) * s.chunks * 2 * 4);
  const uint32_t spec[] = {s.vec4 ? 1u : 0u, lane_width(p), backward ? 1u : 0u};
  struct {
    uint32_t rows, cols, units, iters, chunks;
  } push{rows, cols, s.units, s.iters, s.chunks};
  const RowGroups rg = row_groups(rows);
  p.dispatch(label + ".reduce", p.context().kernels().get("weight_norm/ws_reduce", spec),
             {gpu::in(a), gpu::in(g), gpu::out(partials)}, push, s.chunks, rg.y, rg.z);
  return partials;
}

}  // namespace

void record_weight_standardize_forward(Program& p, uint32_t rows, uint32_t cols, float eps,
                                       const View& w, const View& w_hat, const View& saved,
                                       const std::string& label) {
  check_matrix(rows, cols, label);
  if (!(eps > 0.0f) || !std::isfinite(eps))
    throw Error(label + ": eps must be positive and finite, got " + std::to_string(eps));
  const uint64_t n = uint64_t(rows) * cols;
  require_floats(w, n, label + " (w)");
  require_floats(w_hat, n, label + " (w_hat)");
  require_floats(saved, 2ull * rows, label + " (saved)");
  const RowSplit s = split_row(cols);
  const uint32_t spec[] = {s.vec4 ? 1u : 0u, lane_width(p)};
  const RowGroups rg = row_groups(rows);
  if (s.chunks == 1) {
    struct {
      uint32_t rows, cols, units, iters;
      float eps;
    } push{rows, cols, s.units, s.iters, eps};
    p.dispatch(label, p.context().kernels().get("weight_norm/ws_forward", spec),
               {gpu::in(w), gpu::out(w_hat), gpu::out(saved)}, push, 1, rg.y, rg.z);
    return;
  }
  // Long rows: partial sums (w is bound twice; BACKWARD 0 reads the first),
  // statistics, then the normalised weight.
  const View partials = record_row_sums(p, rows, cols, false, w, w, label);
  struct {
    uint32_t rows, cols, chunks;
    float eps;
  } fin{rows, cols, s.chunks, eps};
  const uint32_t fspec[] = {0u};
  p.dispatch(label + ".finalize", p.context().kernels().get("weight_norm/ws_finalize", fspec),
             {gpu::in(partials), gpu::in(w), gpu::out(saved)}, fin, ceil_div(rows, kLanes));
  struct {
    uint32_t rows, cols, units, iters;
  } push{rows, cols, s.units, s.iters};
  p.dispatch(label + ".apply", p.context().kernels().get("weight_norm/ws_forward_apply", spec),
             {gpu::in(w), gpu::in(saved), gpu::out(w_hat)}, push, s.chunks, rg.y, rg.z);
}

void record_weight_standardize_backward(Program& p, uint32_t rows, uint32_t cols, const View& w_hat,
                                        const View& saved, const View& dw_hat, const View& dw,
                                        const std::string& label) {
  check_matrix(rows, cols, label);
  const uint64_t n = uint64_t(rows) * cols;
  require_floats(w_hat, n, label + " (w_hat)");
  require_floats(saved, 2ull * rows, label + " (saved)");
  require_floats(dw_hat, n, label + " (dw_hat)");
  require_floats(dw, n, label + " (dw)");
  const RowSplit s = split_row(cols);
  const RowGroups rg = row_groups(rows);
  struct {
    uint32_t rows, cols, units, iters;
  } push{rows, cols, s.units, s.iters};
  if (s.chunks == 1) {
    const uint32_t spec[] = {s.vec4 ? 1u : 0u, lane_width(p), 1u};
    p.dispatch(label, p.context().kernels().get("weight_norm/ws_backward", spec),
               {gpu::in(w_hat), gpu::in(dw_hat), gpu::in(saved), gpu::out(dw)}, push, 1, rg.y,
               rg.z);
    return;
  }
  const View partials = record_row_sums(p, rows, cols, true, w_hat, dw_hat, label);
  const View coef = p.scratch(label + ".coef", 3ull * rows * 4);
  struct {
    uint32_t rows, cols, chunks;
    float eps;
  } fin{rows, cols, s.chunks, 0.0f};
  const uint32_t fspec[] = {1u};
  p.dispatch(label + ".finalize", p.context().kernels().get("weight_norm/ws_finalize", fspec),
             {gpu::in(partials), gpu::in(saved), gpu::out(coef)}, fin, ceil_div(rows, kLanes));
  const uint32_t spec[] = {s.vec4 ? 1u : 0u, lane_width(p), 0u};
  p.dispatch(label + ".apply", p.context().kernels().get("weight_norm/ws_backward", spec),
             {gpu::in(w_hat), gpu::in(dw_hat), gpu::in(coef), gpu::out(dw)}, push, s.chunks, rg.y,
             rg.z);
}

namespace {

void check_spectral(uint32_t rows, uint32_t cols, const View& w, const View& uv, const View& sigma,
                    const std::string& label) {
  check_matrix(rows, cols, label);
  if (uint64_t(rows) + cols > kSpectralMaxLength)
    throw Error(label + ": rows + cols = " + std::to_string(uint64_t(rows) + cols) +
                " is more than " + std::to_string(kSpectralMaxLength) +
                " (the power iteration normalises u and v in one workgroup)");
  require_floats(w, uint64_t(rows) * cols, label + " (w)");
  require_floats(uv, spectral_state_floats(rows, cols), label + " (uv)");
  require_floats(sigma, 1, label + " (sigma)");
}

// s = W x (x at float x_off of `x`, a multiple of 4): sn_wv into s, or into
// partials added by dense/split_reduce when a row spans several chunks.
void record_wx(Program& p, uint32_t rows, uint32_t cols, const View& w, const View& x,
               uint32_t x_off, const View& s, const std::string& label) {
  const RowSplit r = split_row(cols);
  const View target =
      r.chunks > 1 ? p.scratch(label + ".partials", uint64_t(r.chunks) * rows * 4) : s;
  const uint32_t spec[] = {r.vec4 ? 1u : 0u, lane_width(p)};
  struct {
    uint32_t rows, units, iters, x_off;
  } push{rows, r.units, r.iters, r.vec4 ? x_off / 4 : x_off};
  const RowGroups rg = row_groups(rows);
  p.dispatch(label, p.context().kernels().get("weight_norm/sn_wv", spec),
             {gpu::in(w), gpu::in(x), gpu::out(target)}, push, r.chunks, rg.y, rg.z);
  if (r.chunks == 1) return;
  SplitReduce sr;
  sr.M = 1;
  sr.N = rows;
  sr.splits = r.chunks;
  sr.c_rs = rows;
  record_split_reduce(p, sr, target, View{}, s, label);
}

// t = W^T u (u at float 0 of uv): sn_wtu over slices of <= 16,384 rows,
// added by dense/split_reduce when there are several.
void record_wtu(Program& p, uint32_t rows, uint32_t cols, const View& w, const View& uv,
                const View& t, const std::string& label) {
  const bool vec4 = cols % 4 == 0;
  const uint32_t units = vec4 ? cols / 4 : cols;
  const uint32_t slices = ceil_div(rows, kWeightNormChunk);
  const View target = slices > 1 ? p.scratch(label + ".partials", uint64_t(slices) * cols * 4) : t;
  const uint32_t spec[] = {vec4 ? 1u : 0u, lane_width(p)};
  struct {
    uint32_t rows, units, row_chunk;
  } push{rows, units, kWeightNormChunk};
  p.dispatch(label, p.context().kernels().get("weight_norm/sn_wtu", spec),
             {gpu::in(w), gpu::in(uv), gpu::out(target)}, push, ceil_div(units, kLanes), 1, slices);
  if (slices == 1) return;
  SplitReduce sr;
  sr.M = 1;
  sr.N = cols;
  sr.splits = slices;
  sr.c_rs = cols;
  record_split_reduce(p, sr, target, View{}, t, label);
}

}  // namespace

void record_spectral_norm_forward(Program& p, uint32_t rows, uint32_t cols,
                                  uint32_t power_iterations, bool training, const View& w,
                                  const View& uv, const View& w_sn, const View& sigma,
                                  const std::string& label) {
  check_spectral(rows, cols, w, uv, sigma, label);
  require_floats(w_sn, uint64_t(rows) * cols, label + " (w_sn)");
  if (training && power_iterations == 0)
    throw Error(label +
                ": training needs at least one power iteration (PyTorch's "
                "n_power_iterations must be positive)");
  const uint32_t v_off = spectral_v_offset(rows);
  const View s = p.scratch(label + ".s", uint64_t(rows) * 4);
  const uint32_t spec[] = {0u, lane_width(p)};
  if (training) {
    const View t = p.scratch(label + ".t", uint64_t(cols) * 4);
    struct {
      uint32_t rows, cols, v_off, t_iters, s_iters;
      float eps;
    } push{rows, cols, v_off, ceil_div(cols, kLanes), ceil_div(rows, kLanes), kSpectralNormEps};
    for (uint32_t it = 0; it < power_iterations; ++it) {
      const std::string l = label + ".power" + std::to_string(it);
      record_wtu(p, rows, cols, w, uv, t, l + ".wtu");
      record_wx(p, rows, cols, w, t, 0, s, l + ".wt");
      p.dispatch(l + ".normalize", p.context().kernels().get("weight_norm/sn_power", spec),
                 {gpu::in(t), gpu::in(s), gpu::out(uv), gpu::out(sigma)}, push, 1);
    }
  } else {
    record_wx(p, rows, cols, w, uv, v_off, s, label + ".wv");
    struct {
      uint32_t rows, iters;
    } push{rows, ceil_div(rows, kLanes)};
    p.dispatch(label + ".sigma", p.context().kernels().get("weight_norm/sn_sigma", spec),
               {gpu::in(s), gpu::in(uv), gpu::out(sigma)}, push, 1);
  }
  const uint32_t count = rows * cols;
  p.dispatch(label + ".scale", p.context().kernels().get("weight_norm/sn_scale"),
             {gpu::in(w), gpu::in(sigma), gpu::out(w_sn)}, count, stride_groups(count / 4));
}

void record_spectral_norm_backward(Program& p, uint32_t rows, uint32_t cols, const View& w,
                                   const View& uv, const View& sigma, const View& dw_sn,
                                   const View& dw, const std::string& label) {
  check_spectral(rows, cols, w, uv, sigma, label);
  const uint64_t n = uint64_t(rows) * cols;
  require_floats(dw_sn, n, label + " (dw_sn)");
  require_floats(dw, n, label + " (dw)");
  // sum(dW_sn ⊙ W) over the flattened weight: one "row" of n values.
  const RowSplit flat = split_row(n);
  const View partials = record_row_sums(p, 1, uint32_t(n), true, w, dw_sn, label);
  const View coef = p.scratch(label + ".coef", 2 * 4);
  p.dispatch(label + ".coef", p.context().kernels().get("weight_norm/sn_coef"),
             {gpu::in(partials), gpu::in(sigma), gpu::out(coef)}, flat.chunks, 1);
  const RowSplit r = split_row(cols);
  const uint32_t spec[] = {r.vec4 ? 1u : 0u, lane_width(p)};
  struct {
    uint32_t rows, units, iters, v_off;
  } push{rows, r.units, r.iters, r.vec4 ? spectral_v_offset(rows) / 4 : spectral_v_offset(rows)};
  const RowGroups rg = row_groups(rows);
  p.dispatch(label + ".apply", p.context().kernels().get("weight_norm/sn_backward", spec),
             {gpu::in(dw_sn), gpu::in(uv), gpu::in(coef), gpu::out(dw)}, push, r.chunks, rg.y,
             rg.z);
}

}  // namespace fovea::ops
