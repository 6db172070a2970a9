#include "ops/dense.h"

#include "util/error.h"

namespace fovea::ops {

// 8x8 invocations, 4x4 outputs each: 64 invocations (half the Vulkan 1.1
// minimum of 128) and no shared memory, so every device runs it.
constexpr uint32_t kTM = 4, kTN = 4, kWGX = 8, kWGY = 8;
// Split-K: no workgroup reduces more than kSplitK values of k (a multiple of
// 4 for the texel kernels), which keeps every invocation far inside
// lavapipe's 65,535 loop iterations; longer reductions write partials to the
// program's scratch and dense/split_reduce adds them in order.
constexpr uint32_t kSplitK = 16384;

// c = sum of `splits` partials [splits, M, N] (+ bias), in split order.
static void record_split_reduce(Program& p, uint32_t M, uint32_t N, uint32_t splits,
                                uint32_t c_rs, const View& partial, const View& bias,
                                const View& c, const std::string& label) {
  struct {
    uint32_t M, N, splits, c_rs, has_bias;
  } push{M, N, splits, c_rs, bias.valid() ? 1u : 0u};
  p.dispatch(label + ".reduce", p.context().kernels().get("dense/split_reduce"),
             {gpu::in(partial), gpu::in(bias.valid() ? bias : partial), gpu::out(c)}, push,
             stride_groups(uint64_t(M) * N));
}

// The texel-buffer kernels (shaders/dense/gemm_{nt,nn,tn}.comp) need every
// vectorised dimension and stride to be a multiple of 4 and both operands to
// fit a texel buffer. Returns the kernel name, or nullptr for the portable one.
static const char* texel_kernel(const gpu::Context& ctx, const GemmShape& g, const View& a,
                                const View& b) {
  if (ctx.portable_kernels) return nullptr;
  auto fits = [&](const View& v) {
    return v.size % 16 == 0 && v.offset % ctx.info().view_alignment == 0 &&
           v.size / 16 <= ctx.info().max_texel_elements;
  };
  if (!fits(a) || !fits(b)) return nullptr;
  auto m4 = [](uint32_t x) { return x % 4 == 0; };
  if (g.a_ks == 1 && g.b_ks == 1 && m4(g.a_rs) && m4(g.b_cs) && m4(g.K)) return "dense/gemm_nt";
  if (g.a_ks == 1 && g.b_cs == 1 && m4(g.a_rs) && m4(g.K) && m4(g.b_ks) && m4(g.N))
    return "dense/gemm_nn";
  if (g.a_rs == 1 && g.b_cs == 1 && m4(g.a_ks) && m4(g.M) && m4(g.b_ks) && m4(g.N))
    return "dense/gemm_tn";
  return nullptr;
}

void record_gemm(Program& p, const GemmShape& g, const View& a, const View& b, const View& bias,
                 const View& c, const std::string& label) {
  if (g.M == 0 || g.N == 0 || g.K == 0) throw Error(label + ": empty GEMM");
  require_floats(a, uint64_t(g.M - 1) * g.a_rs + uint64_t(g.K - 1) * g.a_ks + 1, label + " (A)");
  require_floats(b, uint64_t(g.K - 1) * g.b_ks + uint64_t(g.N - 1) * g.b_cs + 1, label + " (B)");
  require_floats(c, uint64_t(g.M - 1) * g.c_rs + g.N, label + " (C)");
  if (bias.valid()) require_floats(bias, g.N, label + " (bias)");
  const uint32_t splits = ceil_div(g.K, kSplitK);
  if (splits > 65535) throw Error(label + ": reduction of " + std::to_string(g.K) + " is too long");
  // With several splits the kernel writes partials [splits, M, N] to scratch.
  View target = c;
  uint32_t c_rs = g.c_rs;
  if (splits > 1) {
    target = p.scratch(label + ".partials", uint64_t(splits) * g.M * g.N * 4);
    c_rs = g.N;
  }
  const bool direct_bias = bias.valid() && splits == 1;
  struct {
    uint32_t M, N, K, a_rs, a_ks, b_ks, b_cs, c_rs, has_bias, k_split, c_split_stride;
  } push{g.M,  g.N, g.K, g.a_rs, g.a_ks, g.b_ks, g.b_cs, c_rs, direct_bias ? 1u : 0u,
         splits > 1 ? kSplitK : g.K, splits > 1 ? g.M * g.N : 0u};
  // The bias binding is statically used by the kernel, so it must hold a
  // valid buffer even when has_bias is 0: A stands in (read only).
  const View& bias_or_a = direct_bias ? bias : a;
  auto finish = [&] {
    if (splits > 1) record_split_reduce(p, g.M, g.N, splits, g.c_rs, target, bias, c, label);
  };
  if (const char* name = texel_kernel(p.context(), g, a, b)) {
    // Register blocks per lane: nt 4x4 outputs; nn 4 rows x 2 column vec4s;
    // tn 2 row vec4s x 1 column vec4 (8x4 outputs, DEVICES.md's best shape).
    std::string_view n(name);
    uint32_t rm = 4, rn = 4, rows = 1, cols = 1;
    if (n == "dense/gemm_nn") rm = 4, rn = 2, cols = 4;
    if (n == "dense/gemm_tn") rm = 2, rn = 1, rows = 4, cols = 4;
    const uint32_t spec[] = {rm, rn, kWGX, kWGY};
    const auto& k = p.context().kernels().get(name, spec);
    p.dispatch(label, k, {gpu::texel_in(a), gpu::texel_in(b), gpu::in(bias_or_a), gpu::out(target)},
               push, ceil_div(g.N, kWGX * rn * cols), ceil_div(g.M, kWGY * rm * rows), splits);
    finish();
    return;
  }
  const uint32_t spec[] = {kTM, kTN, kWGX, kWGY};
  const auto& k = p.context().kernels().get("dense/gemm", spec);
  p.dispatch(label, k, {gpu::in(a), gpu::in(b), gpu::in(bias_or_a), gpu::out(target)}, push,
             ceil_div(g.N, kWGX * kTN), ceil_div(g.M, kWGY * kTM), splits);
  finish();
}

void record_dense_forward(Program& p, const DenseShape& s, const View& x, const View& w,
                          const View& b, const View& y, const std::string& label) {
  GemmShape g{s.batch, s.out, s.in, s.in, 1, 1, s.in, s.out};
  record_gemm(p, g, x, w, s.bias ? b : View{}, y, label);
}

void record_dense_backward_input(Program& p, const DenseShape& s, const View& dy, const View& w,
                                 const View& dx, const std::string& label) {
  GemmShape g{s.batch, s.in, s.out, s.out, 1, s.in, 1, s.in};
  record_gemm(p, g, dy, w, View{}, dx, label);
}

void record_dense_backward_params(Program& p, const DenseShape& s, const View& x, const View& dy,
                                  const View& dw, const View& db, const std::string& label) {
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
  if (splits > 1) record_split_reduce(p, 1, s.out, splits, s.out, target, View{}, db, label + ".bias");
}

}  // namespace fovea::ops
