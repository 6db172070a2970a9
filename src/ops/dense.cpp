#include "ops/dense.h"

#include <algorithm>

#include "ops/kernel_policy.h"
#include "util/error.h"

namespace fovea::ops {

// 8x8 invocations, 4x4 outputs each: 64 invocations (half the Vulkan 1.1
// minimum of 128) and no shared memory, so every device runs it.
constexpr uint32_t kTM = 4, kTN = 4, kWGX = 8, kWGY = 8;
void record_split_reduce(Program& p, const SplitReduce& r, const View& partial, const View& bias,
                         const View& c, const std::string& label) {
  if (r.splits > kSplitK) throw Error(label + ": too many partial products to add up");
  SplitReduce push = r;
  if (!bias.valid()) push.bias_mode = 0;
  static_assert(sizeof(SplitReduce) == 36);
  p.dispatch(label + ".reduce", p.context().kernels().get("dense/split_reduce"),
             {gpu::in(partial), gpu::in(bias.valid() ? bias : partial), gpu::out(c)}, push,
             stride_groups(uint64_t(r.outputs) * r.M * r.N));
}

// The roofline's figures of one GEMM dispatch: 2 M N K FLOPs per product,
// each operand read once (A or B shared by the batch when its stride is 0;
// B of 2 bytes a value when fp16), C (or the partial products) written once.
static void gemm_cost(Program& p, const GemmShape& g, uint64_t c_blocks) {
  const double a = double(g.M) * g.K * (g.a_bs ? g.batch : 1), b = double(g.K) * g.N * (g.b_bs ? g.batch : 1);
  p.cost(2.0 * g.batch * g.M * g.N * g.K, 4.0 * (a + double(g.M) * g.N * c_blocks) + (g.b_f16 ? 2.0 : 4.0) * b);
}

bool gemm_coop_matrix(const gpu::Context& ctx, const GemmShape& g) { return KernelPolicy::of(ctx).coop_matrix(g); }

uint32_t gemm_k_chunk(const gpu::Context& ctx, const GemmShape& g) { return KernelPolicy::of(ctx).gemm_k_chunk(g); }

void record_gemm(Program& p, const GemmShape& g, const View& a, const View& b, const View& bias,
                 const View& c, const std::string& label) {
  if (g.M == 0 || g.N == 0 || g.K == 0 || g.batch == 0) throw Error(label + ": empty GEMM");
  const uint64_t last = g.batch - 1;
  require_floats(a, g.a_off + last * g.a_bs + uint64_t(g.M - 1) * g.a_rs + uint64_t(g.K - 1) * g.a_ks + 1,
                 label + " (A)");
  const uint64_t b_values = g.b_off + last * g.b_bs + uint64_t(g.K - 1) * g.b_ks + uint64_t(g.N - 1) * g.b_cs + 1;
  require_floats(b, g.b_f16 ? (b_values + 1) / 2 : b_values, label + " (B)");
  require_floats(c, g.c_off + (g.reduce_batch ? 0 : last * g.c_bs) + uint64_t(g.M - 1) * g.c_rs + g.N,
                 label + " (C)");
  if (bias.valid()) require_floats(bias, g.bias_off + (g.bias_per_row ? g.M : g.N), label + " (bias)");
  const GemmChoice choice = KernelPolicy::of(p.context()).gemm(g, a, b);
  const uint32_t chunk = choice.k_chunk;
  const uint32_t splits = ceil_div(g.K, chunk);
  const uint64_t groups_z = uint64_t(g.batch) * splits;
  if (groups_z > 65535) throw Error(label + ": batch x reduction length is too large");
  // Several splits, or a sum over the batch: every workgroup z writes a
  // partial [M, N] to scratch and a second pass adds them up in order.
  const bool partial = splits > 1 || (g.reduce_batch && g.batch > 1);
  View target = partial ? p.scratch(label + ".partials", groups_z * g.M * g.N * 4) : c;
  const uint32_t bias_mode = bias.valid() ? (g.bias_per_row ? 2u : 1u) : 0u;
  struct {
    uint32_t M, N, K, a_rs, a_ks, b_ks, b_cs, c_rs, bias_mode, k_split, splits, a_bs, b_bs, c_bs,
        partial, a_off, b_off, c_off, bias_off, vec4_store;
  } push{g.M,    g.N,    g.K,    g.a_rs, g.a_ks, g.b_ks,  g.b_cs,
         g.c_rs, partial ? 0u : bias_mode,      splits > 1 ? chunk : g.K,
         splits, g.a_bs, g.b_bs, g.c_bs, partial ? 1u : 0u, g.a_off,
         g.b_off, g.c_off, g.bias_off, 0u};
  // The bias binding is statically used by the kernel, so it must hold a
  // valid buffer even when no bias is added: A stands in (read only).
  const View& bias_or_a = bias.valid() && !partial ? bias : a;
  auto finish = [&] {
    if (!partial) return;
    SplitReduce r;
    r.M = g.M;
    r.N = g.N;
    r.outputs = g.reduce_batch ? 1 : g.batch;
    r.splits = uint32_t(groups_z / r.outputs);
    r.c_rs = g.c_rs;
    r.bias_mode = bias_mode;
    r.c_bs = g.c_bs;
    r.c_off = g.c_off;
    r.bias_off = g.bias_off;
    record_split_reduce(p, r, target, bias, c, label);
  };
  if (choice.coop_matrix) {
    // 32x32 outputs per workgroup of 4 subgroups (dense/gemm_coopmat.glsl).
    const auto& k = p.context().kernels().get(choice.kernel);
    p.dispatch(label, k, {gpu::in(a), gpu::in(b), gpu::in(bias_or_a), gpu::out(target)}, push,
               ceil_div(g.N, 32), ceil_div(g.M, 32), uint32_t(groups_z));
    gemm_cost(p, g, partial ? groups_z : g.batch);
    finish();
    return;
  }
  if (choice.texel) {
    // Register blocks per lane (KernelPolicy::gemm).
    std::string_view n(choice.kernel);
    const uint32_t rm = choice.rm, rn = choice.rn, rows = choice.rows, cols = choice.cols;
    // nn and tn write 4 consecutive columns per store; with every C address
    // of such a group 16-byte aligned, as one vec4 (views start aligned).
    const bool aligned = partial || (g.c_off % 4 == 0 && g.c_bs % 4 == 0 && g.c_rs % 4 == 0);
    push.vec4_store = n != "dense/gemm_nt" && aligned ? 1u : 0u;
    // The bias mode and store form as constants too (BIAS, STORE4 in gemm_texel.glsl).
    const uint32_t spec[] = {rm, rn, kWGX, kWGY, push.bias_mode, push.vec4_store};
    const auto& k = p.context().kernels().get(choice.kernel, spec);
    p.dispatch(label, k, {gpu::texel_in(a), gpu::texel_in(b), gpu::in(bias_or_a), gpu::out(target)},
               push, ceil_div(g.N, kWGX * rn * cols), ceil_div(g.M, kWGY * rm * rows),
               uint32_t(groups_z));
    gemm_cost(p, g, partial ? groups_z : g.batch);
    finish();
    return;
  }
  const uint32_t spec[] = {kTM, kTN, kWGX, kWGY};
  const auto& k = p.context().kernels().get(choice.kernel, spec);
  p.dispatch(label, k, {gpu::in(a), gpu::in(b), gpu::in(bias_or_a), gpu::out(target)}, push,
             ceil_div(g.N, kWGX * kTN), ceil_div(g.M, kWGY * kTM), uint32_t(groups_z));
  gemm_cost(p, g, partial ? groups_z : g.batch);
  finish();
}

void record_dense_forward(Program& p, const DenseShape& s, const View& x, const View& w,
                          const View& b, const View& y, const std::string& label) {
  const uint64_t xr = uint64_t(s.in) * 4, yr = uint64_t(s.out) * 4;
  if (const auto ws = row_windows(p.context(), s.batch, {{x, xr}, {y, yr}}, label); ws.size() > 1) {
    for (const RowWindow& r : ws)
      record_dense_forward(p, {uint32_t(r.rows), s.in, s.out, s.bias}, row_window(x, xr, r), w, b,
                           row_window(y, yr, r), label);
    return;
  }
  GemmShape g{s.batch, s.out, s.in, s.in, 1, 1, s.in, s.out};
  record_gemm(p, g, x, w, s.bias ? b : View{}, y, label);
}

void record_dense_backward_input(Program& p, const DenseShape& s, const View& dy, const View& w,
                                 const View& dx, const std::string& label) {
  const uint64_t dyr = uint64_t(s.out) * 4, dxr = uint64_t(s.in) * 4;
  if (const auto ws = row_windows(p.context(), s.batch, {{dy, dyr}, {dx, dxr}}, label); ws.size() > 1) {
    for (const RowWindow& r : ws)
      record_dense_backward_input(p, {uint32_t(r.rows), s.in, s.out, s.bias}, row_window(dy, dyr, r), w,
                                  row_window(dx, dxr, r), label);
    return;
  }
  GemmShape g{s.batch, s.in, s.out, s.out, 1, s.in, 1, s.in};
  record_gemm(p, g, dy, w, View{}, dx, label);
}

void record_dense_backward_params(Program& p, const DenseShape& s, const View& x, const View& dy,
                                  const View& dw, const View& db, const std::string& label) {
  const uint64_t xr = uint64_t(s.in) * 4, dyr = uint64_t(s.out) * 4;
  if (const auto ws = row_windows(p.context(), s.batch, {{x, xr}, {dy, dyr}}, label); ws.size() > 1) {
    // Each window's gradients, then their sum in window order.
    const WindowSums dws(p, ws.size(), uint64_t(s.out) * s.in, label + ".weight");
    const WindowSums dbs(p, s.bias ? ws.size() : 0, s.out, label + ".bias");
    for (size_t k = 0; k < ws.size(); ++k)
      record_dense_backward_params(p, {uint32_t(ws[k].rows), s.in, s.out, s.bias}, row_window(x, xr, ws[k]),
                                   row_window(dy, dyr, ws[k]), dws.part(k), dbs.part(k), label);
    dws.record_sum(dw);
    dbs.record_sum(db);
    return;
  }
  GemmShape g{s.out, s.in, s.batch, 1, s.out, s.in, 1, s.in};
  record_gemm(p, g, dy, x, View{}, dw, label + ".weight");
  if (!s.bias) return;
  require_floats(dy, uint64_t(s.batch) * s.out, label + ".bias");
  require_floats(db, s.out, label + ".bias");
  const uint32_t splits = ceil_div(s.batch, kSplitK);
  View target = splits > 1 ? p.scratch(label + ".bias.partials", uint64_t(splits) * s.out * 4) : db;
  struct {
    uint32_t rows, N, row_split;
  } push{s.batch, s.out, kSplitK};
  const auto& k = p.context().kernels().get("dense/bias_grad");
  p.dispatch(label + ".bias", k, {gpu::in(dy), gpu::out(target)}, push, ceil_div(s.out, 64), 1,
             splits);
  if (splits > 1) {
    SplitReduce r;
    r.M = 1;
    r.N = s.out;
    r.splits = splits;
    r.c_rs = s.out;
    record_split_reduce(p, r, target, View{}, db, label + ".bias");
  }
}

}  // namespace fovea::ops
