// dense: the GEMM kernels behind a Linear layer, against the double
// reference, on shapes that are not multiples of the 32-wide output tiles,
// with both kernel sets (the portable storage-buffer gemm and, where shapes
// are multiples of 4, the texel-buffer fast path), past lavapipe's 65,535
// loop-iteration cap, and against finite differences of the reference forward.
#include <algorithm>

#include <catch2/catch.hpp>

#include "gpu/harness.h"
#include "ops/dense.h"
#include "ops/op_check.h"
#include "reference/dense.h"

namespace fovea::test {
namespace {

// Forces the portable kernels (or allows the fast path) while recording.
class KernelMode {
 public:
  explicit KernelMode(bool portable) : old_(context().portable_kernels) {
    context().portable_kernels = portable;
  }
  ~KernelMode() { context().portable_kernels = old_; }

 private:
  bool old_;
};
constexpr bool kModes[] = {true, false};  // portable, fast

struct DenseCase {
  uint32_t batch, in, out;
  bool bias;
};

// One program: forward x -> y, then with an independent upstream gradient
// dy (as from a loss L = sum(y ⊙ dy)): dx, dw and db.
struct DenseResult {
  std::vector<float> x, w, b, dy;    // inputs
  std::vector<float> y, dx, dw, db;  // kernel outputs
  std::vector<std::string> kernels;  // kernel of each dispatch, in order
};

// Rounded up to a multiple of 4 floats, as the texel path needs.
uint64_t padded(uint64_t floats) { return (floats + 3) / 4 * 4; }

DenseResult run_dense(const DenseCase& c, uint64_t seed, bool portable) {
  const uint64_t nx = uint64_t(c.batch) * c.in, nw = uint64_t(c.out) * c.in;
  const uint64_t ny = uint64_t(c.batch) * c.out;
  DenseResult r;
  r.x = random_floats(nx, seed + 1);
  r.w = random_floats(nw, seed + 2);
  r.b = random_floats(c.out, seed + 3);
  r.dy = random_floats(ny, seed + 4);

  OpRun run;
  auto x = run.tensor("x", padded(nx)), w = run.tensor("w", padded(nw));
  auto b = run.tensor("b", c.out), dy = run.tensor("dy", padded(ny));
  auto y = run.tensor("y", ny), dx = run.tensor("dx", nx);
  auto dw = run.tensor("dw", nw), db = run.tensor("db", c.out);
  run.commit();
  run.set(x, r.x);
  run.set(w, r.w);
  run.set(b, r.b);
  run.set(dy, r.dy);
  run.set(y, garbage(ny, seed));
  run.set(dx, garbage(nx, seed));
  run.set(dw, garbage(nw, seed));
  run.set(db, garbage(c.out, seed));

  const ops::DenseShape s{c.batch, c.in, c.out, c.bias};
  {
    KernelMode mode(portable);
    ops::record_dense_forward(run.program(), s, x, w, b, y, "dense.forward");
    ops::record_dense_backward_input(run.program(), s, dy, w, dx, "dense.backward_input");
    ops::record_dense_backward_params(run.program(), s, x, dy, dw, db, "dense.backward_params");
  }
  for (const auto& d : run.program().dispatches()) r.kernels.push_back(d.kernel->name);
  run.run();
  r.y = run.get(y, ny);
  r.dx = run.get(dx, nx);
  r.dw = run.get(dw, nw);
  r.db = run.get(db, c.out);
  return r;
}

std::string describe(const DenseCase& c, bool portable, const DenseResult& r) {
  std::string s = "batch " + std::to_string(c.batch) + ", in " + std::to_string(c.in) +
                  ", out " + std::to_string(c.out) + (c.bias ? ", bias" : ", no bias") +
                  (portable ? ", portable kernels:" : ", fast kernels:");
  for (const auto& k : r.kernels) s += " " + k;
  return s;
}

// Every output of run_dense against the reference, all elements.
void check_dense_against_reference(const DenseCase& c, const DenseResult& r) {
  const auto x = ref::widen(r.x), w = ref::widen(r.w), dy = ref::widen(r.dy);
  const auto b = c.bias ? ref::widen(r.b) : ref::Tensor{};
  check_close(r.y, ref::dense_forward(c.batch, c.in, c.out, x, w, b), gemm_atol(c.in), kGemmRtol,
              "y");
  check_close(r.dx, ref::dense_backward_input(c.batch, c.in, c.out, dy, w), gemm_atol(c.out),
              kGemmRtol, "dx");
  check_close(r.dw, ref::dense_backward_weight(c.batch, c.in, c.out, x, dy),
              gemm_atol(c.batch), kGemmRtol, "dw");
  if (c.bias)
    check_close(r.db, ref::dense_backward_bias(c.batch, c.out, dy), gemm_atol(c.batch),
                kGemmRtol, "db");
}

// dx, dw, db from the kernels against central differences of
// L(x, W, b) = sum(dense_forward(x, W, b) ⊙ dy), computed in double.
void check_dense_finite_differences(const DenseCase& c, const DenseResult& r, uint64_t samples) {
  const auto x = ref::widen(r.x), w = ref::widen(r.w), b = ref::widen(r.b);
  const auto dy = ref::widen(r.dy);
  auto loss = [&](const ref::Tensor& xv, const ref::Tensor& wv, const ref::Tensor& bv) {
    ref::Tensor y = ref::dense_forward(c.batch, c.in, c.out, xv, wv, bv);
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i) s += y[i] * dy[i];
    return s;
  };
  // L is linear in each argument, so the central difference is exact up to
  // double rounding and eps can be large.
  const double eps = 1e-2;
  check_finite_differences(
      r.dx, x, [&](const ref::Tensor& v) { return loss(v, w, b); }, eps, samples,
      gemm_atol(c.out), kGemmRtol, "dx");
  check_finite_differences(
      r.dw, w, [&](const ref::Tensor& v) { return loss(x, v, b); }, eps, samples,
      gemm_atol(c.batch), kGemmRtol, "dw");
  check_finite_differences(
      r.db, b, [&](const ref::Tensor& v) { return loss(x, w, v); }, eps, samples,
      gemm_atol(c.batch), kGemmRtol, "db");
}

// Runs and checks one case against the reference; with `fast_kernel` set,
// first requires that the fast path chose that kernel exactly when the
// device model allows it (so a test meant for it cannot silently fall back
// to the portable one, and a device whose texel buffers are too small, such
// as SwiftShader's 65,536 texels, must take the portable one). In the cases
// below the largest operand is one of that kernel's.
void check_case(const DenseCase& c, uint64_t seed, bool portable,
                const char* fast_kernel = nullptr) {
  const DenseResult r = run_dense(c, seed, portable);
  INFO(describe(c, portable, r));
  if (fast_kernel && !portable) {
    const uint64_t largest = std::max({padded(r.x.size()), padded(r.w.size()), padded(r.dy.size())});
    const bool fits = largest / 4 <= context().info().max_texel_elements;
    bool found = false;
    for (const auto& k : r.kernels) found |= k.find(fast_kernel) != std::string::npos;
    INFO("largest operand " << largest / 4 << " texels, device model allows "
                            << context().info().max_texel_elements);
    REQUIRE(found == fits);
  }
  check_dense_against_reference(c, r);
}

}  // namespace

TEST_CASE("dense forward and backward products match the reference on awkward shapes",
          "[dense]") {
  const DenseCase cases[] = {
      {1, 1, 1, true},      {3, 17, 5, true},     {17, 31, 65, false}, {31, 65, 127, true},
      {65, 129, 33, true},  {127, 3, 129, true},  {129, 127, 31, false}, {33, 1, 100, true},
      {64, 784, 10, true},  {40, 33, 32, true},
  };
  uint64_t seed = 100;
  for (bool portable : kModes)
    for (const DenseCase& c : cases) check_case(c, seed += 10, portable);
}

TEST_CASE("dense products on shapes whose sizes are multiples of 4 but not of the tiles",
          "[dense]") {
  // Eligible for the texel-buffer kernels (every dimension and stride a
  // multiple of 4); M and N still cut through the 32- and 64-wide tiles.
  const DenseCase cases[] = {
      {1, 4, 4, true},     {3, 12, 4, true},     {33, 100, 20, true}, {17, 36, 132, false},
      {129, 132, 68, true}, {40, 32, 32, true},  {64, 784, 12, true}, {65, 4, 36, true},
  };
  uint64_t seed = 300;
  for (bool portable : kModes)
    for (const DenseCase& c : cases) check_case(c, seed += 10, portable);
}

TEST_CASE("dense backward kernels equal finite differences of the reference forward",
          "[dense][gradient]") {
  const DenseCase cases[] = {{17, 31, 65, true}, {1, 3, 1, true}, {33, 129, 7, true},
                             {33, 100, 20, true}, {5, 4, 8, true}};
  uint64_t seed = 500;
  for (bool portable : kModes)
    for (const DenseCase& c : cases) {
      const DenseResult r = run_dense(c, seed += 10, portable);
      INFO(describe(c, portable, r));
      check_dense_finite_differences(c, r, 150);
    }
}

// lavapipe stops a loop silently after 65,535 iterations; the reductions
// below are longer than that, counted in the kernel's own steps (scalar k
// for the portable gemm and gemm_tn, vec4s of k for gemm_nt and gemm_nn).

TEST_CASE("dense forward sums over 70000 inputs with the portable kernel",
          "[dense][chunked]") {
  check_case({3, 70000, 5, true}, 900, true);
}

TEST_CASE("dense forward sums over 270000 inputs with the fast kernel", "[dense][chunked]") {
  check_case({2, 270000, 4, true}, 910, false, "gemm_nt");
}

TEST_CASE("dense input gradient sums over 70000 outputs with the portable kernel",
          "[dense][chunked]") {
  check_case({1, 3, 70000, true}, 920, true);
}

TEST_CASE("dense input gradient sums over 270000 outputs with the fast kernel",
          "[dense][chunked]") {
  check_case({1, 4, 270000, false}, 930, false, "gemm_nn");
}

TEST_CASE("dense weight and bias gradients over a batch of 70000 with the portable kernel",
          "[dense][chunked][gradient]") {
  const DenseCase c{70000, 3, 2, true};
  const DenseResult r = run_dense(c, 1000, true);
  INFO(describe(c, true, r));
  check_dense_against_reference(c, r);
  check_dense_finite_differences(c, r, 12);
}

TEST_CASE("dense weight and bias gradients over a batch of 70000 with the fast kernel",
          "[dense][chunked][gradient]") {
  check_case({70000, 4, 4, true}, 1010, false, "gemm_tn");
}

namespace {

// record_gemm on one strided shape with bias; C has spare columns
// (c_rs > N) that must keep their old values.
void check_gemm(const ref::GemmShape& g, uint64_t seed, bool portable) {
  const uint64_t na = padded(uint64_t(g.M - 1) * g.a_rs + uint64_t(g.K - 1) * g.a_ks + 1);
  const uint64_t nb = padded(uint64_t(g.K - 1) * g.b_ks + uint64_t(g.N - 1) * g.b_cs + 1);
  const uint64_t nc = uint64_t(g.M) * g.c_rs;
  const auto a = random_floats(na, seed), b = random_floats(nb, seed + 1);
  const auto bias = random_floats(g.N, seed + 2), c0 = garbage(nc, seed + 3);

  OpRun run;
  auto va = run.tensor("a", na), vb = run.tensor("b", nb), vbias = run.tensor("bias", g.N);
  auto vc = run.tensor("c", nc);
  run.commit();
  run.set(va, a);
  run.set(vb, b);
  run.set(vbias, bias);
  run.set(vc, c0);
  {
    KernelMode mode(portable);
    ops::GemmShape s{g.M, g.N, g.K, g.a_rs, g.a_ks, g.b_ks, g.b_cs, g.c_rs};
    ops::record_gemm(run.program(), s, va, vb, vbias, vc, "gemm");
  }
  run.run();

  ref::Tensor want = ref::widen(c0);  // the spare columns keep these exactly
  ref::gemm(g, ref::widen(a), ref::widen(b), ref::widen(bias), want);
  std::string kernels;
  for (const auto& d : run.program().dispatches()) kernels += " " + d.kernel->name;
  INFO("M " << g.M << " N " << g.N << " K " << g.K << " strides a " << g.a_rs << "," << g.a_ks
            << " b " << g.b_ks << "," << g.b_cs << " c " << g.c_rs << ", kernels" << kernels);
  check_close(run.get(vc, nc), want, gemm_atol(g.K), kGemmRtol, "C with spare columns");
}

}  // namespace

TEST_CASE("gemm with padded strides and bias writes exactly its M x N block", "[dense][gemm]") {
  // One layout per kernel: transposed A (portable), and the nt, nn and tn
  // layouts the fast path accepts, each with padded leading dimensions.
  const ref::GemmShape shapes[] = {
      {37, 45, 50, 1, 40, 50, 1, 52},  // A transposed, M odd: portable
      {37, 45, 48, 52, 1, 1, 56, 47},  // nt: A rows and B columns padded
      {37, 44, 48, 52, 1, 48, 1, 45},  // nn
      {36, 44, 50, 1, 40, 48, 1, 51},  // tn
  };
  uint64_t seed = 1;
  for (bool portable : kModes)
    for (const ref::GemmShape& g : shapes) check_gemm(g, seed += 4, portable);
}

TEST_CASE("gemm reductions at and just past a split of the K loop", "[dense][gemm][chunked]") {
  // Lengths around multiples of 16384 (where a long reduction may be split
  // into partial sums), with bias and spare columns in C, in the nt and tn
  // layouts; odd K keeps the portable kernel even on the fast path.
  const ref::GemmShape shapes[] = {
      {5, 6, 16384, 16384, 1, 1, 16384, 9},  {5, 6, 16385, 16385, 1, 1, 16385, 9},
      {5, 6, 16388, 16388, 1, 1, 16388, 9},  {3, 2, 32771, 32771, 1, 1, 32771, 3},
      {4, 8, 16385, 1, 4, 8, 1, 11},         {4, 8, 32768, 1, 4, 8, 1, 8},
      {4, 8, 49153, 1, 4, 8, 1, 9},
  };
  uint64_t seed = 50;
  for (bool portable : kModes)
    for (const ref::GemmShape& g : shapes) check_gemm(g, seed += 4, portable);
}

TEST_CASE("gemm without bias on a single row and a single column", "[dense][gemm]") {
  // M = 1 or N = 1: one lane of the 8 x 8 workgroup stores, the rest clamp.
  for (bool portable : kModes)
    for (auto [M, N] : {std::pair<uint32_t, uint32_t>{1, 67}, {67, 1}, {1, 68}, {68, 1}}) {
      ref::GemmShape g{M, N, 20, 20, 1, 1, 20, N};  // nt layout: B is [N, K]
      const auto a = random_floats(uint64_t(M) * 20, M), b = random_floats(20ull * N, N + 7);
      OpRun run;
      auto va = run.tensor("a", a.size()), vb = run.tensor("b", b.size());
      auto vc = run.tensor("c", uint64_t(M) * N);
      run.commit();
      run.set(va, a);
      run.set(vb, b);
      run.set(vc, garbage(uint64_t(M) * N, 5));
      {
        KernelMode mode(portable);
        ops::record_gemm(run.program(), {M, N, 20, 20, 1, 1, 20, N}, va, vb, gpu::View{}, vc,
                         "gemm");
      }
      run.run();
      ref::Tensor want(uint64_t(M) * N);
      ref::gemm(g, ref::widen(a), ref::widen(b), {}, want);
      INFO("M " << M << ", N " << N << ", kernel " << run.program().dispatches()[0].kernel->name);
      check_close(run.get(vc, want.size()), want, gemm_atol(20), kGemmRtol, "C");
    }
}



TEST_CASE("gemm split for occupancy matches the reference", "[dense][gemm][chunked]") {
  // GPUs cut the reduction of a GEMM with few output tiles into short chunks
  // (gpu::Context::occupancy_split_k); forced on here so lavapipe runs it.
  // Shapes with few tiles, K not a multiple of the chunk, in the nt and tn
  // layouts and a transposed-A one that keeps the portable kernel.
  const ref::GemmShape shapes[] = {
      {37, 45, 1501, 1501, 1, 1, 1501, 47},
      {64, 96, 3136, 3136, 1, 1, 3136, 96},
      {12, 20, 1000, 1, 12, 20, 1, 21},
      {9, 7, 777, 1, 9, 1, 777, 7},
  };
  gpu::Context& ctx = context();
  const bool old = ctx.occupancy_split_k;
  ctx.occupancy_split_k = true;
  uint64_t seed = 700;
  for (bool portable : kModes)
    for (const ref::GemmShape& g : shapes) {
      KernelMode mode(portable);
      const ops::GemmShape s{g.M, g.N, g.K, g.a_rs, g.a_ks, g.b_ks, g.b_cs, g.c_rs};
      // The fast path splits (into chunks of at least kMinSplitChunk); FOVEA_FAST=0 does not.
      const uint32_t chunk = ops::gemm_k_chunk(ctx, s);
      CHECK((portable ? chunk == ops::kSplitK : (chunk < g.K && chunk >= ops::kMinSplitChunk)));
      check_gemm(g, seed += 4, portable);
    }
  ctx.occupancy_split_k = false;
  CHECK(ops::gemm_k_chunk(ctx, ops::GemmShape{37, 45, 1501, 1501, 1, 1, 1501, 47}) == ops::kSplitK);
  ctx.occupancy_split_k = old;
}

}  // namespace fovea::test
