// The fp16 paths (gpu::Context::half_precision): when they are on by
// default, and the cooperative-matrix GEMM (fp16 operands, fp32
// accumulation) against the double reference on the fp16-rounded inputs; on
// a device without it the selection logic must not pick it. conv2d's fp16
// columns: conv2d_test.cpp; a few training steps fp16 vs fp32:
// tests/cli/portability_test.sh.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <utility>

#include "gpu/harness.h"
#include "ops/dense.h"
#include "ops/half_mode.h"
#include "ops/op_check.h"
#include "ops/kernel_policy.h"
#include "reference/dense.h"
#include "reference/half.h"
#include "support/skip.h"

namespace fovea::test {

TEST_CASE("fp16 paths are on by default on GPUs only", "[half]") {
  // A fresh context's rule (the shared test context turns them off): on
  // where the device is not a CPU implementation, unless FOVEA_FAST says.
  const char* fast = std::getenv("FOVEA_FAST");
  if (fast && *fast) {
    FOVEA_SKIP_HARDWARE("FOVEA_FAST=" << fast << " is set: the default is not tested");
  }
  auto ctx = gpu::Context::create({"", true});
  const bool gpu = ctx->info().type != VK_PHYSICAL_DEVICE_TYPE_CPU;
  CHECK(ctx->half_precision == gpu);
  CHECK(ops::KernelPolicy::of(*ctx).fp16_columns() == (gpu && ctx->info().storage_16bit && !ctx->portable_kernels));
  CHECK(ctx->validation().count() == 0);
}

TEST_CASE("cooperative-matrix GEMM matches the reference on fp16-rounded inputs", "[dense][gemm][coopmat]") {
  auto& ctx = context();
  // 131 x 97 outputs (off the 32x32 workgroup tiles and the 16x16 subgroup
  // tiles), K = 401 (off the 16-long k steps), batch 2: 2*2*131*97*401 =
  // 20.4 MFLOP, past kCoopMinFlops. Case 0: bias per column; case 1: A
  // stored [K, M] (a_rs = 1), bias per row.
  const uint32_t M = 131, N = 97, K = 401;
  ops::GemmShape cases[2] = {{M, N, K, K, 1, N, 1, N}, {M, N, K, 1, M, N, 1, N}};
  for (auto& g : cases) g.batch = 2, g.a_bs = M * K, g.b_bs = K * N, g.c_bs = M * N;
  cases[1].bias_per_row = true;
  {
    HalfMode off(false);  // forced off (FOVEA_FAST=fp32 or 0): never selected
    CHECK_FALSE(ops::gemm_coop_matrix(ctx, cases[0]));
  }
  HalfMode on(true);
  const bool coop = ops::KernelPolicy::of(ctx).coop_matrix_enabled();
  if (!coop) {
    for (const auto& g : cases) CHECK_FALSE(ops::gemm_coop_matrix(ctx, g));
  }
  CHECK_FALSE(ops::gemm_coop_matrix(ctx, ops::GemmShape{16, 16, 16, 16, 1, 16, 1, 16}));  // too small to pay
  for (uint32_t ci = 0; ci < 2; ++ci) {
    const ops::GemmShape& g = cases[ci];
    const std::vector<float> a = random_floats(2ull * M * K, 800 + ci), b = random_floats(2ull * K * N, 810 + ci);
    const std::vector<float> bias = random_floats(g.bias_per_row ? M : N, 820 + ci);
    OpRun run;
    const gpu::View va = run.tensor("a", a.size()), vb = run.tensor("b", b.size());
    const gpu::View vbias = run.tensor("bias", bias.size()), vc = run.tensor("c", 2ull * M * N);
    run.commit();
    for (const auto& [view, values] : {std::pair{va, a}, {vb, b}, {vbias, bias}, {vc, garbage(2ull * M * N, ci)}})
      run.set(view, values);
    ops::record_gemm(run.program(), g, va, vb, vbias, vc, "gemm");
    const std::string kernel = run.program().dispatches().front().kernel->name;
    INFO("case " << ci << ": " << kernel);
    CHECK((kernel.rfind("dense/gemm_coopmat", 0) == 0) == coop);
    run.run();
    // The reference on fp16-rounded A and B (fp32 ones on the other kernels),
    // one product per batch entry.
    const ref::Tensor ra = coop ? ref::round_half(a) : ref::widen(a), rb = coop ? ref::round_half(b) : ref::widen(b);
    ref::Tensor want;
    for (uint32_t bi = 0; bi < 2; ++bi) {
      ref::Tensor c(uint64_t(M) * N);
      ref::gemm({M, N, K, g.a_rs, g.a_ks, g.b_ks, g.b_cs, N}, ref::Tensor(ra.begin() + bi * g.a_bs, ra.begin() + (bi + 1) * g.a_bs),
                ref::Tensor(rb.begin() + bi * g.b_bs, rb.begin() + (bi + 1) * g.b_bs), {}, c);
      for (uint64_t e = 0; e < c.size(); ++e) c[e] += bias[g.bias_per_row ? e / N : e % N];
      want.insert(want.end(), c.begin(), c.end());
    }
    // Products of fp16 values are exact in fp32; tensor cores need not round
    // the fp32 sums like sequential IEEE adds: 1e-6 K (4e-4 here) allows
    // that, while one lost term or wrong index (~0.3) does not pass.
    check_close(run.get(vc, want.size()), want, coop ? 1e-6 * K : gemm_atol(K), kGemmRtol, "C");
  }
  // The fallback kernels passed above; the coopmat GEMM itself did not run.
  if (!coop)
    FOVEA_SKIP_HARDWARE("device " << ctx.info().name << " has no fp16 16x16x16 cooperative matrices"
                                  << " (VK_NV_cooperative_matrix) with subgroups of 32: the coopmat GEMM was not run");
}

}  // namespace fovea::test
