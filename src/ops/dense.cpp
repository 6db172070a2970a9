#include "ops/dense.h"

#include "util/error.h"

namespace fovea::ops {

// 8x8 invocations, 4x4 outputs each: 64 invocations (half the Vulkan 1.1
// minimum of 128) and no shared memory, so every device runs it.
constexpr uint32_t kTM = 4, kTN = 4, kWGX = 8, kWGY = 8;

void record_gemm(Program& p, const GemmShape& g, const View& a, const View& b, const View& bias,
                 const View& c, const std::string& label) {
  if (g.M == 0 || g.N == 0 || g.K == 0) throw Error(label + ": empty GEMM");
  require_floats(a, uint64_t(g.M - 1) * g.a_rs + uint64_t(g.K - 1) * g.a_ks + 1, label + " (A)");
  require_floats(b, uint64_t(g.K - 1) * g.b_ks + uint64_t(g.N - 1) * g.b_cs + 1, label + " (B)");
  require_floats(c, uint64_t(g.M - 1) * g.c_rs + g.N, label + " (C)");
  if (bias.valid()) require_floats(bias, g.N, label + " (bias)");
  const uint32_t spec[] = {kTM, kTN, kWGX, kWGY};
  const auto& k = p.context().kernels().get("dense/gemm", spec);
  struct {
    uint32_t M, N, K, a_rs, a_ks, b_ks, b_cs, c_rs, has_bias;
  } push{g.M, g.N, g.K, g.a_rs, g.a_ks, g.b_ks, g.b_cs, g.c_rs, bias.valid() ? 1u : 0u};
  // The bias binding is statically used by the kernel, so it must hold a
  // valid buffer even when has_bias is 0: A stands in (read only).
  const View& bias_or_a = bias.valid() ? bias : a;
  p.dispatch(label, k, {gpu::in(a), gpu::in(b), gpu::in(bias_or_a), gpu::out(c)}, push,
             ceil_div(g.N, kWGX * kTN), ceil_div(g.M, kWGY * kTM));
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
  struct {
    uint32_t rows, N;
  } push{s.batch, s.out};
  const auto& k = p.context().kernels().get("dense/bias_grad");
  p.dispatch(label + ".bias", k, {gpu::in(dy), gpu::out(db)}, push, ceil_div(s.out, 64));
}

}  // namespace fovea::ops
