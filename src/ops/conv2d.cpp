#include "ops/conv2d.h"

#include <algorithm>
#include <iterator>

#include "gpu/tuner.h"
#include "ops/dense.h"
#include "ops/kernel_policy.h"
#include "util/error.h"

namespace fovea::ops {

namespace {

// The push block of shaders/conv2d/conv2d_geometry.glsl.
struct Geometry {
  uint32_t C, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, batch;
};
Geometry geometry(const Conv2dShape& s) {
  return {s.in_channels, s.height, s.width, s.out_h(), s.out_w(), s.kh, s.kw,
          s.sh,          s.sw,     s.ph,    s.pw,      s.dh,      s.dw, s.batch};
}

// Variants of shaders/conv2d/implicit_gemm.comp, {output channels,
// positions} per lane and lanes per workgroup; the tuner picks one per shape.
// All add each output's terms in the same order (bit-identical results).
// Channel blocks are multiples of 8, broadcast by shuffles from 8 lanes.
struct ImplicitVariant {
  uint32_t channels, positions, lanes;
};
constexpr ImplicitVariant kImplicitVariants[] = {{8, 4, 32},  {8, 4, 64},  {8, 8, 32}, {8, 4, 16},
                                                  {8, 8, 16},  {8, 4, 8},   {16, 4, 16}, {16, 4, 8},
                                                  {16, 2, 8},  {32, 2, 8},  {32, 4, 8}};

// The same convolution over a window of the batch.
Conv2dShape with_batch(const Conv2dShape& s, const RowWindow& r) {
  Conv2dShape w = s;
  w.batch = uint32_t(r.rows);
  return w;
}

}  // namespace

void Conv2dShape::validate(const std::string& what) const {
  auto fail = [&](const std::string& m) { throw Error(what + ": " + m); };
  if (!batch || !in_channels || !height || !width || !out_channels)
    fail("batch, channels and sizes must be positive");
  if (!kh || !kw || !sh || !sw || !dh || !dw) fail("kernel, stride and dilation must be positive");
  if (!groups || in_channels % groups || out_channels % groups)
    fail("groups " + std::to_string(groups) + " must divide in_channels " +
         std::to_string(in_channels) + " and out_channels " + std::to_string(out_channels));
  if (out_h() == 0 || out_w() == 0)
    fail("kernel " + std::to_string(kh) + "x" + std::to_string(kw) + " (dilation " +
         std::to_string(dh) + ") does not fit the padded " + std::to_string(height) + "x" +
         std::to_string(width) + " input");
  if (uint64_t(in_channels) * taps() > 65535 || batch > 65535 || in_channels > 65535)
    fail("in_channels x kernel taps and batch must stay within 65535");
  if (cols_floats() >= (1ull << 32)) fail("the im2col workspace would exceed 2^32 values");
}

bool conv2d_implicit_gemm(const gpu::Context& ctx, const Conv2dShape& s, bool forward) {
  return KernelPolicy::of(ctx).implicit_gemm(s, forward);
}

bool conv2d_direct_input_gradient(const gpu::Context& ctx, const Conv2dShape& s) {
  return KernelPolicy::of(ctx).conv2d(s).implicit_input;
}

bool conv2d_fp16_columns(const gpu::Context& ctx, const Conv2dShape& s) {
  return KernelPolicy::of(ctx).conv2d(s).fp16_columns;
}

uint64_t conv2d_cols_bytes(const gpu::Context& ctx, const Conv2dShape& s) {
  return conv2d_fp16_columns(ctx, s) ? (s.cols_floats() + 1) / 2 * 4 : s.cols_floats() * 4;
}

namespace {

// Bytes per image of the im2col columns (fp16 columns pack two values a word).
uint64_t cols_row_bytes(const gpu::Context& ctx, const Conv2dShape& s) {
  return s.cols_floats() / s.batch * (conv2d_fp16_columns(ctx, s) ? 2 : 4);
}

// The columns of one window of images. An odd count of fp16 values ends in
// half a word, which the window's view takes too (conv2d_cols_bytes).
View cols_window(const gpu::Context& ctx, const Conv2dShape& s, const View& cols, const RowWindow& r) {
  const uint64_t row = cols_row_bytes(ctx, s);
  View v = row_window(cols, row, r);
  if (v.valid()) v.size = std::min(conv2d_cols_bytes(ctx, with_batch(s, r)), cols.size - r.first * row);
  return v;
}

}  // namespace

uint32_t conv2d_implicit_variants() { return uint32_t(std::size(kImplicitVariants)); }

std::string conv2d_implicit_key(const Conv2dShape& s, bool forward, bool bias) {
  // ".v4": the variant table's version; a changed table must not reuse old choices.
  std::string key = forward ? "conv2d/implicit_gemm.v4/fwd" : "conv2d/implicit_gemm.v4/bwd";
  for (uint32_t v : {s.batch, s.in_channels, s.height, s.width, s.out_channels, s.kh, s.kw, s.sh,
                     s.sw, s.ph, s.pw, s.dh, s.dw, s.groups, bias ? 1u : 0u})
    key += '_', key += std::to_string(v);
  return key;
}

namespace {

// shaders/conv2d/implicit_gemm.comp: y from x (forward) or dx from dy, when
// the device and the views allow it; false (nothing recorded) otherwise.
bool record_implicit(Program& p, const Conv2dShape& s, bool forward, const View& in, const View& w,
                     const View& bias, const View& out, const std::string& label) {
  const KernelPolicy policy = KernelPolicy::of(p.context());
  if (!policy.implicit_gemm(s, forward) || !policy.implicit_views(in, w)) return false;
  const uint32_t cg = s.in_channels / s.groups, kk = uint32_t(s.taps());
  struct {
    uint32_t IC, IH, IW, MC, MH, MW, KH, KW, mul_h, mul_w;
    int32_t off_h, off_w, step_h, step_w;
    uint32_t div_h, div_w, groups, w_ms, w_ks, bias_on;
  } push{};
  if (forward) {
    push = {s.in_channels, s.height, s.width, s.out_channels, s.out_h(), s.out_w(), s.kh, s.kw,
            s.sh, s.sw, -int32_t(s.ph), -int32_t(s.pw), int32_t(s.dh), int32_t(s.dw), 1, 1,
            s.groups, cg * kk, kk, bias.valid() ? 1u : 0u};
  } else {
    push = {s.out_channels, s.out_h(), s.out_w(), s.in_channels, s.height, s.width, s.kh, s.kw,
            1, 1, int32_t(s.ph), int32_t(s.pw), -int32_t(s.dh), -int32_t(s.dw), s.sh, s.sw,
            s.groups, kk, cg * kk, 0u};
  }
  auto dispatch = [&](Program& q, const ImplicitVariant& v, const View& vin, const View& vw,
                      const View& vbias, const View& vout) {
    const uint32_t spec[] = {v.channels, v.positions, v.lanes,
                             push.div_h != 1 || push.div_w != 1 ? 1u : 0u, push.bias_on};
    q.dispatch(label, q.context().kernels().get("conv2d/implicit_gemm", spec),
               {gpu::in(vbias.valid() ? vbias : vw), gpu::out(vout), gpu::texel_scalar_in(vin),
                gpu::texel_scalar_in(vw)},
               push, ceil_div(uint64_t(push.MH) * push.MW, v.lanes * v.positions),
               s.groups * ceil_div(push.MC / s.groups, v.channels), s.batch);
  };
  // Tuned per shape on this device, outside the step being recorded.
  const double flops = 2.0 * s.batch * s.out_channels * s.out_plane() * cg * kk;
  const uint32_t variant = gpu::tuned_variant(
      p.context(), conv2d_implicit_key(s, forward, bias.valid()), conv2d_implicit_variants(),
      policy.tune(flops),
      [&](Program& q, uint32_t v, const std::function<View(uint64_t)>& alloc) {
        const View tin = alloc(in.size / 4), tw = alloc(w.size / 4), tout = alloc(out.size / 4);
        dispatch(q, kImplicitVariants[v], tin, tw, bias.valid() ? alloc(bias.size / 4) : View{}, tout);
      });
  dispatch(p, kImplicitVariants[variant], in, w, bias, out);
  p.cost(flops, double(in.size + w.size + out.size + (bias.valid() ? bias.size : 0)));
  return true;
}

}  // namespace

void record_conv2d_forward(Program& p, const Conv2dShape& s, const View& x, const View& w,
                           const View& b, const View& y, const View& cols,
                           const std::string& label) {
  s.validate(label);
  const uint64_t xr = uint64_t(s.in_channels) * s.height * s.width * 4, yr = s.out_channels * s.out_plane() * 4,
                 cr = cols_row_bytes(p.context(), s);
  if (const auto ws = row_windows(p.context(), s.batch, {{x, xr}, {y, yr}, {cols, cr}}, label); ws.size() > 1) {
    for (const RowWindow& r : ws)
      record_conv2d_forward(p, with_batch(s, r), row_window(x, xr, r), w, b, row_window(y, yr, r),
                            cols_window(p.context(), s, cols, r), label);
    return;
  }
  const uint32_t plane = uint32_t(s.out_plane()), ckk = uint32_t(s.in_channels * s.taps());
  const uint32_t og = s.out_channels / s.groups, gk = ckk / s.groups;  // per group
  require_floats(x, uint64_t(s.batch) * s.in_channels * s.height * s.width, label + " (x)");
  require_floats(w, uint64_t(s.out_channels) * gk, label + " (w)");
  if (b.valid()) require_floats(b, s.out_channels, label + " (bias)");
  if (!cols.valid()) {
    if (record_implicit(p, s, true, x, w, b, y, label)) return;
    throw Error(label + ": this device needs the im2col workspace (cols) for conv2d");
  }
  const KernelPolicy policy = KernelPolicy::of(p.context());
  const ConvChoice choice = policy.conv2d(s);
  require_floats(cols, conv2d_cols_bytes(p.context(), s) / 4, label + " (cols)");
  Geometry geo = geometry(s);
  if (choice.fp16_columns) {
    p.dispatch(label + ".im2col", p.context().kernels().get("conv2d/im2col_f16"),
               {gpu::in(x), gpu::out(cols)}, geo, ceil_div(plane, 64), ckk, s.batch);
  } else if (policy.im2col_texel(s, x, cols)) {
    // x through a texel buffer, 4 positions per lane (binding 1 unused).
    p.dispatch(label + ".im2col", p.context().kernels().get("conv2d/im2col_texel"),
               {gpu::in(x), gpu::out(cols), gpu::texel_scalar_in(x)}, geo, ceil_div(plane, 256), ckk,
               s.batch);
  } else {
    p.dispatch(label + ".im2col", p.context().kernels().get("conv2d/im2col"),
               {gpu::in(x), gpu::out(cols)}, geo, ceil_div(plane, 64), ckk, s.batch);
  }
  // Where the texel GEMM cannot run, the implicit GEMM (ConvChoice::
  // implicit_over_gemm). cols is still written for the weight gradient.
  if (choice.implicit_over_gemm && record_implicit(p, s, true, x, w, b, y, label)) return;
  for (uint32_t g = 0; g < s.groups; ++g) {
    // y[b, g*og + o, p] = sum_k W[g*og + o, k] * cols[b, g*gk + k, p] (+ bias[g*og + o])
    GemmShape gs{og, plane, gk, gk, 1, plane, 1, plane};
    gs.batch = s.batch;
    gs.b_bs = ckk * plane;
    gs.c_bs = s.out_channels * plane;
    gs.a_off = g * og * gk;
    gs.b_off = g * gk * plane;
    gs.c_off = g * og * plane;
    gs.bias_off = g * og;
    gs.bias_per_row = true;
    gs.b_f16 = choice.fp16_columns;
    record_gemm(p, gs, w, cols, b, y, s.groups > 1 ? label + ".g" + std::to_string(g) : label);
  }
}

void record_conv2d_backward_input(Program& p, const Conv2dShape& s, const View& dy,
                                  const View& w, const View& dx, const View& dcols,
                                  const std::string& label) {
  s.validate(label);
  const uint64_t xr = uint64_t(s.in_channels) * s.height * s.width * 4, yr = s.out_channels * s.out_plane() * 4,
                 cr = s.cols_floats() / s.batch * 4;
  if (const auto ws = row_windows(p.context(), s.batch, {{dy, yr}, {dx, xr}, {dcols, cr}}, label); ws.size() > 1) {
    for (const RowWindow& r : ws)
      record_conv2d_backward_input(p, with_batch(s, r), row_window(dy, yr, r), w, row_window(dx, xr, r),
                                   row_window(dcols, cr, r), label);
    return;
  }
  const uint32_t plane = uint32_t(s.out_plane()), ckk = uint32_t(s.in_channels * s.taps());
  const uint32_t og = s.out_channels / s.groups, gk = ckk / s.groups;
  require_floats(dy, uint64_t(s.batch) * s.out_channels * plane, label + " (dy)");
  require_floats(dx, uint64_t(s.batch) * s.in_channels * s.height * s.width, label + " (dx)");
  require_floats(w, uint64_t(s.out_channels) * gk, label + " (w)");
  if (record_implicit(p, s, false, dy, w, View{}, dx, label)) return;
  if (!dcols.valid()) throw Error(label + ": the GEMM + col2im input gradient needs its dcols workspace");
  require_floats(dcols, s.cols_floats(), label + " (dcols)");
  for (uint32_t g = 0; g < s.groups; ++g) {
    // dcols[b, g*gk + k, p] = sum_o W[g*og + o, k] * dy[b, g*og + o, p]
    GemmShape gs{gk, plane, og, 1, gk, plane, 1, plane};
    gs.batch = s.batch;
    gs.b_bs = s.out_channels * plane;
    gs.c_bs = ckk * plane;
    gs.a_off = g * og * gk;
    gs.b_off = g * og * plane;
    gs.c_off = g * gk * plane;
    record_gemm(p, gs, w, dy, View{}, dcols,
                s.groups > 1 ? label + ".g" + std::to_string(g) : label);
  }
  Geometry geo = geometry(s);
  p.dispatch(label + ".col2im", p.context().kernels().get("conv2d/col2im"),
             {gpu::in(dcols), gpu::out(dx)}, geo, ceil_div(uint64_t(s.height) * s.width, 64),
             s.in_channels, s.batch);
}

void record_conv2d_backward_params(Program& p, const Conv2dShape& s, const View& cols,
                                   const View& dy, const View& dw, const View& db,
                                   const std::string& label) {
  s.validate(label);
  const uint64_t yr = s.out_channels * s.out_plane() * 4, cr = cols_row_bytes(p.context(), s);
  const uint64_t dw_floats = uint64_t(s.out_channels) * (s.in_channels / s.groups) * s.taps();
  // The GEMM's per-image partial products of dW (one group's) are bound whole.
  if (const auto ws = row_windows(p.context(), s.batch, {{cols, cr}, {dy, yr}}, label, dw_floats / s.groups * 4);
      ws.size() > 1) {
    // Each window's gradients, then their sum in window order.
    const WindowSums dws(p, ws.size(), dw_floats, label + ".weight");
    const WindowSums dbs(p, db.valid() ? ws.size() : 0, s.out_channels, label + ".bias");
    for (size_t k = 0; k < ws.size(); ++k)
      record_conv2d_backward_params(p, with_batch(s, ws[k]), cols_window(p.context(), s, cols, ws[k]),
                                    row_window(dy, yr, ws[k]), dws.part(k), dbs.part(k), label);
    dws.record_sum(dw);
    dbs.record_sum(db);
    return;
  }
  const uint32_t plane = uint32_t(s.out_plane()), ckk = uint32_t(s.in_channels * s.taps());
  const uint32_t og = s.out_channels / s.groups, gk = ckk / s.groups;
  require_floats(cols, conv2d_cols_bytes(p.context(), s) / 4, label + " (cols)");
  require_floats(dy, uint64_t(s.batch) * s.out_channels * plane, label + " (dy)");
  require_floats(dw, uint64_t(s.out_channels) * gk, label + " (dw)");
  for (uint32_t g = 0; g < s.groups; ++g) {
    // dW[g*og + o, k] = sum_b sum_p dy[b, g*og + o, p] * cols[b, g*gk + k, p]
    GemmShape gs{og, gk, plane, plane, 1, 1, plane, gk};
    gs.batch = s.batch;
    gs.a_bs = s.out_channels * plane;
    gs.b_bs = ckk * plane;
    gs.a_off = g * og * plane;
    gs.b_off = g * gk * plane;
    gs.c_off = g * og * gk;
    gs.reduce_batch = true;
    gs.b_f16 = conv2d_fp16_columns(p.context(), s);
    record_gemm(p, gs, dy, cols, View{}, dw,
                (s.groups > 1 ? label + ".g" + std::to_string(g) : label) + ".weight");
  }
  if (db.valid()) record_channel_sums(p, s.batch, s.out_channels, plane, dy, db, label + ".bias");
}

void record_channel_sums(Program& p, uint32_t batch, uint32_t channels, uint32_t plane,
                         const View& dy, const View& db, const std::string& label) {
  require_floats(dy, uint64_t(batch) * channels * plane, label + " (dy)");
  require_floats(db, channels, label + " (db)");
  const uint64_t total = uint64_t(batch) * plane;
  if (total > 0xffffffffull) throw Error(label + ": batch x plane must stay below 2^32");
  // Short chunks, one invocation per (channel, chunk): a GPU needs many
  // invocations in flight (with kSplitK-long chunks, conv2's bias gradient
  // was 45% of a fashion_cnn step on an H200). Aiming at 4096 partials per
  // channel keeps the reduce's loop short too, and kSplitK caps the chunk
  // below lavapipe's loop budget. The chunk depends on the shape alone, so
  // the sum order is the same on every device.
  const uint32_t chunk = uint32_t(std::clamp<uint64_t>(ceil_div(total, 4096), 256, kSplitK));
  const uint32_t splits = ceil_div(total, chunk);
  View part = splits > 1 ? p.scratch(label + ".partials", uint64_t(splits) * channels * 4) : db;
  struct {
    uint32_t channels, plane, total, chunk;
  } push{channels, plane, uint32_t(total), chunk};
  p.dispatch(label, p.context().kernels().get("conv2d/channel_sum"), {gpu::in(dy), gpu::out(part)},
             push, ceil_div(channels, 64), 1, splits);
  if (splits == 1) return;
  SplitReduce r;
  r.M = 1;
  r.N = channels;
  r.splits = splits;
  r.c_rs = channels;
  record_split_reduce(p, r, part, View{}, db, label);
}

}  // namespace fovea::ops
