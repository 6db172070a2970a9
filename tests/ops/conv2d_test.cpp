// conv2d: forward, input gradient and weight/bias gradients against the
// double reference on awkward shapes (odd sizes, stride 2 on odd inputs,
// dilation 2, groups 3, depthwise, batch 1, no bias), on both GEMM paths where
// the shape allows the texel one, past the split-K length, with the input
// gradient as an implicit GEMM or as GEMM + col2im, and against finite
// differences of the reference forward; with fp16 columns against the
// reference on the GPU's rounded columns and against the fp32 path.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "gpu/harness.h"
#include "gpu/tuner.h"
#include "ops/tensor.h"
#include "ops/conv2d.h"
#include "ops/half_mode.h"
#include "ops/op_check.h"
#include "ops/kernel_policy.h"
#include "reference/conv2d.h"
#include "reference/half.h"
#include "support/skip.h"

namespace fovea::test {
namespace {

struct ConvCase {
  ops::Conv2dShape s;
  bool bias;
};

std::string describe(const ops::Conv2dShape& s) {
  std::ostringstream o;
  o << "B" << s.batch << " C" << s.in_channels << " " << s.height << "x" << s.width << " -> O"
    << s.out_channels << " k" << s.kh << "x" << s.kw << " s" << s.sh << "x" << s.sw << " p" << s.ph
    << "x" << s.pw << " d" << s.dh << "x" << s.dw << " g" << s.groups;
  return o.str();
}

struct ConvRun {
  std::vector<float> x, w, b, dy, y, dx, dw, db;
  std::vector<float> cols;  // the im2col workspace as written (fp16 pairs with fp16 columns)
  std::vector<std::string> kernels;
};

// implicit_forward: the forward without its cols workspace (the implicit
// GEMM) and no weight gradient.
ConvRun run_conv(const ConvCase& c, uint64_t seed, bool implicit_forward = false) {
  const auto& s = c.s;
  const uint64_t nx = uint64_t(s.batch) * s.in_channels * s.height * s.width;
  const uint64_t nw = uint64_t(s.out_channels) * (s.in_channels / s.groups) * s.taps();
  const uint64_t ny = uint64_t(s.batch) * s.out_channels * s.out_plane();
  ConvRun r;
  r.x = random_floats(nx, seed + 1);
  r.w = random_floats(nw, seed + 2);
  r.b = random_floats(s.out_channels, seed + 3);
  r.dy = random_floats(ny, seed + 4);
  OpRun run;
  auto x = run.tensor("x", nx), w = run.tensor("w", nw), b = run.tensor("b", s.out_channels);
  auto y = run.tensor("y", ny), dy = run.tensor("dy", ny), dx = run.tensor("dx", nx);
  auto dw = run.tensor("dw", nw), db = run.tensor("db", s.out_channels);
  auto cols = run.tensor("cols", s.cols_floats()), dcols = run.tensor("dcols", s.cols_floats());
  run.commit();
  run.set(x, r.x);
  run.set(w, r.w);
  run.set(b, r.b);
  run.set(dy, r.dy);
  run.set(y, garbage(ny, seed));
  run.set(dx, garbage(nx, seed));
  run.set(dw, garbage(nw, seed));
  run.set(db, garbage(s.out_channels, seed));
  auto& p = run.program();
  ops::record_conv2d_forward(p, s, x, w, c.bias ? b : gpu::View{}, y, implicit_forward ? gpu::View{} : cols,
                             "conv");
  ops::record_conv2d_backward_input(p, s, dy, w, dx, dcols, "conv.backward.input");
  if (!implicit_forward)
    ops::record_conv2d_backward_params(p, s, cols, dy, dw, c.bias ? db : gpu::View{}, "conv.backward");
  for (const auto& d : p.dispatches()) r.kernels.push_back(d.kernel->name);
  run.run();
  r.y = run.get(y, ny);
  r.dx = run.get(dx, nx);
  r.dw = run.get(dw, nw);
  if (c.bias) r.db = run.get(db, s.out_channels);
  if (!implicit_forward) r.cols = run.get(cols, ops::conv2d_cols_bytes(context(), s) / 4);
  return r;
}

void check_conv(const ConvCase& c, uint64_t seed) {
  const auto& s = c.s;
  for (bool portable : {true, false}) {
    auto& ctx = context();
    ctx.portable_kernels = portable;
    ConvRun r = run_conv(c, seed);
    ctx.portable_kernels = false;
    std::string kernels;
    for (const auto& k : r.kernels) kernels += k + " ";
    INFO(describe(s) << (c.bias ? ", bias" : ", no bias") << (portable ? ", portable" : ", auto")
                     << ": " << kernels);
    const uint64_t reduction = uint64_t(s.in_channels / s.groups) * s.taps();
    const ref::Tensor bias = c.bias ? ref::widen(r.b) : ref::Tensor{};
    check_close(r.y, ref::conv2d_forward(s, ref::widen(r.x), ref::widen(r.w), bias),
                gemm_atol(reduction), kGemmRtol, "y");
    auto g = ref::conv2d_backward(s, ref::widen(r.x), ref::widen(r.w), ref::widen(r.dy));
    check_close(r.dx, g.dx, gemm_atol(uint64_t(s.out_channels) * s.taps()), kGemmRtol, "dx");
    check_close(r.dw, g.dw, gemm_atol(uint64_t(s.batch) * s.out_plane()), kGemmRtol, "dw");
    if (c.bias)
      check_close(r.db, g.db, gemm_atol(uint64_t(s.batch) * s.out_plane()), kGemmRtol, "db");
  }
}

bool uses(const ConvRun& r, const std::string& kernel) {
  for (const auto& k : r.kernels)
    if (k.rfind(kernel, 0) == 0) return true;
  return false;
}

ops::Conv2dShape shape(uint32_t B, uint32_t C, uint32_t H, uint32_t W, uint32_t O, uint32_t kh,
                       uint32_t kw, uint32_t stride, uint32_t ph, uint32_t pw, uint32_t dil = 1,
                       uint32_t groups = 1) {
  ops::Conv2dShape s;
  s.batch = B, s.in_channels = C, s.height = H, s.width = W, s.out_channels = O;
  s.kh = kh, s.kw = kw, s.sh = s.sw = stride, s.ph = ph, s.pw = pw, s.dh = s.dw = dil;
  s.groups = groups;
  return s;
}

// |v| elementwise: the reference on |cols| and |dy| gives sum |dy| |cols| per
// weight, and rounding every column to fp16 (relative error at most 2^-11 to
// nearest, 2^-10 toward zero) moves dW by at most 2^-10 times that.
ref::Tensor absolute(const std::vector<float>& v) {
  ref::Tensor t(v.size());
  for (size_t i = 0; i < v.size(); ++i) t[i] = std::fabs(double(v[i]));
  return t;
}

void check_conv_half(const ops::Conv2dShape& s, uint64_t seed) {
  INFO("B" << s.batch << " C" << s.in_channels << " " << s.height << "x" << s.width << " -> O" << s.out_channels
           << " k" << s.kh << " s" << s.sh << " p" << s.ph << " g" << s.groups);
  const ConvCase c{s, true};
  ConvRun half, full;
  {
    HalfMode on(true);
    REQUIRE(ops::conv2d_fp16_columns(context(), s));
    half = run_conv(c, seed);
  }
  {
    HalfMode off(false);
    REQUIRE_FALSE(ops::conv2d_fp16_columns(context(), s));
    full = run_conv(c, seed);
  }
  std::string names;
  for (const auto& k : half.kernels) names += k + " ";
  INFO("fp16 kernels: " << names);
  CHECK(uses(half, "conv2d/im2col_f16"));
  CHECK((uses(half, "dense/gemm_b16") || uses(half, "dense/gemm_coopmat_b16")));
  CHECK_FALSE(uses(full, "conv2d/im2col_f16"));

  // The columns: every value the exact column rounded to fp16 (within one
  // fp16 ulp: 2^-10 relative covers rounding to nearest and toward zero).
  const ref::Tensor x = ref::widen(half.x), w = ref::widen(half.w), dy = ref::widen(half.dy);
  const ref::Tensor exact = ref::conv2d_im2col(s, x);
  const ref::Tensor cols = ref::unpack_halves(half.cols, s.cols_floats());
  std::vector<float> cols_f(cols.begin(), cols.end());
  check_close(cols_f, exact, 1e-7, std::ldexp(1.0, -10), "fp16 columns");

  // Tight: the double reference on the GPU's own fp16 columns.
  const uint64_t plane = s.out_plane(), gk = uint64_t(s.in_channels / s.groups) * s.taps();
  const ref::Tensor dw_on_cols = ref::conv2d_weight_grad_from_cols(s, cols, dy);
  check_close(half.dw, dw_on_cols, gemm_atol(s.batch * plane), kGemmRtol, "dw on fp16 columns");
  const bool gemm_forward = uses(half, "dense/gemm_b16") && gk % 4 == 0 && plane % 4 == 0;
  const ref::Tensor b = ref::widen(half.b);
  if (gemm_forward)
    check_close(half.y, ref::conv2d_forward_from_cols(s, cols, w, b), gemm_atol(gk), kGemmRtol, "y on fp16 columns");
  else  // the implicit GEMM reads x in fp32: y is the fp32 convolution
    check_close(half.y, ref::conv2d_forward(s, x, w, b), gemm_atol(gk), kGemmRtol, "y (implicit GEMM)");
  check_close(half.db, ref::widen(full.db), 0.0, 0.0, "db (no columns involved)");

  // Loose: against the fp32 path, within 2^-10 sum |dy| |cols| (the most
  // fp16 columns can change each sum) plus the fp32 tolerance.
  const ref::Tensor dw_bound = ref::conv2d_weight_grad_from_cols(s, ref::conv2d_im2col(s, absolute(half.x)), absolute(half.dy));
  for (size_t i = 0; i < half.dw.size(); ++i) {
    INFO("dw[" << i << "]: fp16 columns " << half.dw[i] << ", fp32 " << full.dw[i] << ", bound " << dw_bound[i]);
    REQUIRE(std::fabs(double(half.dw[i]) - full.dw[i]) <=
            std::ldexp(dw_bound[i], -10) + 2 * gemm_atol(s.batch * plane));
  }
  // And the fp16 weight gradient is that of the fp16-column forward: central
  // differences of L(W) = sum(dy ⊙ (W · cols)).
  check_finite_differences(
      half.dw, w,
      [&](const ref::Tensor& wv) { return weighted_sum(ref::conv2d_forward_from_cols(s, cols, wv, {}), half.dy); },
      1e-2, 24, gemm_atol(s.batch * plane), kGemmRtol, "dw (finite differences)");
}

}  // namespace

TEST_CASE("conv2d forward and gradients on odd shapes, 3x3 padding 1", "[conv2d]") {
  check_conv({shape(2, 3, 7, 5, 4, 3, 3, 1, 1, 1), true}, 10);
  check_conv({shape(1, 1, 1, 1, 3, 1, 1, 1, 0, 0), true}, 11);  // batch 1, 1x1 image
}

TEST_CASE("conv2d with stride 2 on odd inputs and a non-square kernel", "[conv2d]") {
  check_conv({shape(1, 5, 9, 11, 6, 3, 2, 2, 1, 0), true}, 20);
  check_conv({shape(3, 2, 15, 13, 5, 5, 5, 2, 2, 2), false}, 21);
}

TEST_CASE("conv2d with dilation 2 and groups 3", "[conv2d]") {
  check_conv({shape(3, 6, 8, 9, 9, 3, 3, 1, 2, 2, 2, 3), true}, 30);
}

TEST_CASE("depthwise conv2d (groups = channels)", "[conv2d]") {
  check_conv({shape(2, 4, 6, 7, 4, 3, 3, 1, 1, 1, 1, 4), true}, 40);
  check_conv({shape(2, 3, 5, 5, 6, 3, 3, 2, 1, 1, 1, 3), false}, 41);  // channel multiplier 2
}

TEST_CASE("conv2d on shapes the texel GEMMs accept, and 1x1 without bias", "[conv2d]") {
  // gk = 8*9 = 72 and plane 12*12 = 144 are multiples of 4: texel kernels.
  ConvCase c{shape(2, 8, 12, 12, 8, 3, 3, 1, 1, 1), true};
  check_conv(c, 50);
  ConvRun r = run_conv(c, 51);
  bool texel = false;
  for (const auto& k : r.kernels) texel |= k.rfind("dense/gemm_", 0) == 0;
  CHECK(texel);
  CHECK(uses(r, "conv2d/im2col_texel"));  // plane 144: 4 positions per lane
  check_conv({shape(3, 16, 5, 5, 7, 1, 1, 1, 0, 0), false}, 52);
}

TEST_CASE("conv2d input gradient as an implicit GEMM on shapes off its tiles", "[conv2d]") {
  // 17x19 = 323 positions (past one workgroup's 256), 11 and 10 channels per
  // group (not multiples of the 8-channel block), stride 2 and dilation 2.
  for (const ConvCase& c : {ConvCase{shape(2, 11, 17, 19, 13, 3, 3, 1, 1, 1), true},
                            ConvCase{shape(3, 20, 17, 19, 6, 3, 5, 2, 2, 1, 2, 2), false}}) {
    check_conv(c, 55);
    if (!ops::conv2d_direct_input_gradient(context(), c.s)) continue;  // a device without it
    const ConvRun r = run_conv(c, 56);
    CHECK(uses(r, "conv2d/implicit_gemm"));
    CHECK_FALSE(uses(r, "conv2d/col2im"));
  }
  // O * KH * KW = 16,200, just inside one split: every lane loops that long.
  ConvCase near{shape(1, 2, 3, 3, 1800, 3, 3, 1, 1, 1), true};
  check_conv(near, 54);
  if (ops::conv2d_direct_input_gradient(context(), near.s)) CHECK(uses(run_conv(near, 53), "conv2d/implicit_gemm"));
  // O * KH * KW past one split's loop budget: GEMM + col2im instead.
  ConvCase big{shape(1, 2, 3, 3, 2000, 3, 3, 1, 1, 1), true};
  CHECK_FALSE(ops::conv2d_direct_input_gradient(context(), big.s));
  check_conv(big, 57);
  CHECK(uses(run_conv(big, 58), "conv2d/col2im"));
}

// Points the tuner at a fresh file in a temporary XDG_CACHE_HOME while alive.
struct TuningDir {
  std::filesystem::path dir;
  std::string old;
  bool had = false;
  TuningDir() {
    char tmpl[] = "/tmp/fovea-tune-XXXXXX";
    dir = mkdtemp(tmpl);
    if (const char* o = std::getenv("XDG_CACHE_HOME")) old = o, had = true;
    setenv("XDG_CACHE_HOME", dir.c_str(), 1);
  }
  ~TuningDir() {
    if (had) setenv("XDG_CACHE_HOME", old.c_str(), 1);
    else unsetenv("XDG_CACHE_HOME");
    std::filesystem::remove_all(dir);
  }
};

TEST_CASE("conv2d implicit GEMM tile variants are bit-identical, chosen by the tuning file", "[conv2d]") {
  // 17x19 positions, 13 output and 11 input channels: no variant's tiles fit.
  const ConvCase c{shape(2, 11, 17, 19, 13, 3, 3, 1, 1, 1), true};
  if (!ops::conv2d_implicit_gemm(context(), c.s, true) || !ops::conv2d_direct_input_gradient(context(), c.s)) {
    FOVEA_SKIP_HARDWARE("no implicit GEMM on this device");
  }
  TuningDir tuning;
  const auto file = gpu::tuning_file(context());
  std::filesystem::create_directories(file.parent_path());
  ConvRun first;
  std::set<std::string> kernels;
  for (uint32_t v = 0; v < ops::conv2d_implicit_variants(); ++v) {
    // The cached choice is taken as it is (this shape is too small to time).
    std::ofstream(file) << ops::conv2d_implicit_key(c.s, true, true) << ' ' << v << '\n'
                        << ops::conv2d_implicit_key(c.s, false, false) << ' ' << v << '\n';
    ConvRun r = run_conv(c, 90, true);
    for (const auto& k : r.kernels)
      if (k.rfind("conv2d/implicit_gemm", 0) == 0) {
        // "conv2d/implicit_gemm<RC,RP,WG,DIVIDE,BIAS>": the variant is the first three.
        size_t end = k.find(',');
        for (int i = 0; i < 2 && end != std::string::npos; ++i) end = k.find(',', end + 1);
        kernels.insert(k.substr(0, end));
      }
    if (v == 0) {
      first = r;
      const ref::Tensor bias = ref::widen(r.b);
      check_close(r.y, ref::conv2d_forward(c.s, ref::widen(r.x), ref::widen(r.w), bias),
                  gemm_atol(11 * 9), kGemmRtol, "y");
      auto g = ref::conv2d_backward(c.s, ref::widen(r.x), ref::widen(r.w), ref::widen(r.dy));
      check_close(r.dx, g.dx, gemm_atol(13 * 9), kGemmRtol, "dx");
      continue;
    }
    INFO("variant " << v);
    CHECK(r.y == first.y);
    CHECK(r.dx == first.dx);
  }
  CHECK(kernels.size() == ops::conv2d_implicit_variants());  // each variant really ran
}

TEST_CASE("the tuner times variants once and then reads its cached choice", "[conv2d]") {
  TuningDir tuning;
  uint32_t timed = 0;
  // Variant v copies 64 Ki floats with the tensor family's copy, v + 1 times.
  auto record = [&](gpu::Program& p, uint32_t v, const std::function<gpu::View(uint64_t)>& alloc) {
    ++timed;
    const gpu::View a = alloc(65536), b = alloc(65536);
    for (uint32_t i = 0; i <= v; ++i) ops::record_copy(p, 65536, a, b, "copy");
  };
  const uint32_t best = gpu::tuned_variant(context(), "test/copy", 3, true, record);
  CHECK(timed == 3);
  CHECK(best < 3);
  std::ifstream in(gpu::tuning_file(context()));
  std::string key;
  uint32_t cached = 99;
  in >> key >> cached;
  CHECK(key == "test/copy");
  CHECK(cached == best);
  // A second call reads the file and times nothing; an edited choice is taken.
  CHECK(gpu::tuned_variant(context(), "test/copy", 3, true, record) == best);
  std::ofstream(gpu::tuning_file(context())) << "test/copy " << (best + 1) % 3 << '\n';
  CHECK(gpu::tuned_variant(context(), "test/copy", 3, true, record) == (best + 1) % 3);
  CHECK(timed == 3);
  context().tune = false;  // ContextOptions::tune (FOVEA_TUNE=0 for the command)
  CHECK(gpu::tuned_variant(context(), "test/copy", 3, true, record) == 0);
  context().tune = true;
}

TEST_CASE("conv2d weight and bias gradients over more positions than one split", "[conv2d]") {
  // plane 150 x 150 = 22,500 > 16,384: split-K in the weight gradient and
  // two partial sums for the bias.
  check_conv({shape(1, 1, 150, 150, 2, 3, 3, 1, 1, 1), true}, 60);
}

TEST_CASE("conv2d gradients equal finite differences of the reference forward", "[conv2d]") {
  ConvCase c{shape(2, 3, 6, 5, 4, 3, 3, 2, 1, 1, 1, 1), true};
  ConvRun r = run_conv(c, 70);
  const auto& s = c.s;
  const ref::Tensor x = ref::widen(r.x), w = ref::widen(r.w), b = ref::widen(r.b);
  const ref::Tensor up = ref::widen(r.dy);
  auto loss = [&](const ref::Tensor& xx, const ref::Tensor& ww, const ref::Tensor& bb) {
    ref::Tensor y = ref::conv2d_forward(s, xx, ww, bb);
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += y[i] * up[i];  // L = sum(y ⊙ dy)
    return l;
  };
  check_finite_differences(r.dx, x, [&](const ref::Tensor& v) { return loss(v, w, b); }, 1e-3,
                           200, 1e-4, 1e-3, "dx");
  check_finite_differences(r.dw, w, [&](const ref::Tensor& v) { return loss(x, v, b); }, 1e-3,
                           200, 1e-4, 1e-3, "dw");
  check_finite_differences(r.db, b, [&](const ref::Tensor& v) { return loss(x, w, v); }, 1e-3,
                           200, 1e-4, 1e-3, "db");
}

TEST_CASE("conv2d rejects shapes that do not fit", "[conv2d]") {
  auto bad_groups = shape(1, 4, 5, 5, 6, 3, 3, 1, 1, 1, 1, 3);
  CHECK_THROWS_WITH(bad_groups.validate("conv"), Catch::Contains("groups 3"));
  auto too_big = shape(1, 1, 2, 2, 1, 5, 5, 1, 0, 0);
  CHECK_THROWS_WITH(too_big.validate("conv"), Catch::Contains("does not fit"));
}

TEST_CASE("conv2d with fp16 columns matches the reference on the rounded columns", "[conv2d][half]") {
  auto& ctx = context();
  if (!ctx.info().storage_16bit) {
    HalfMode on(true);
    CHECK_FALSE(ops::KernelPolicy::of(ctx).fp16_columns());  // nothing to select on this device
    FOVEA_SKIP_HARDWARE("device " << ctx.info().name << " has no 16-bit storage buffers: fp16 columns");
  }
  // gk = 4*9 = 36 and plane 6x6 = 36, multiples of 4: the forward GEMM reads
  // the fp16 columns; stride 2, odd sizes and groups 3 with gk = 2*25 = 50:
  // the forward is the implicit GEMM and only the weight gradient reads them.
  check_conv_half(shape(3, 4, 6, 6, 5, 3, 3, 1, 1, 1), 700);
  check_conv_half(shape(2, 6, 11, 9, 9, 5, 5, 2, 2, 2, 1, 3), 710);
  // The selection: FOVEA_FAST=0 (portable kernels) turns it off.
  HalfMode on(true);
  ctx.portable_kernels = true;
  CHECK_FALSE(ops::KernelPolicy::of(ctx).fp16_columns());
}

}  // namespace fovea::test
