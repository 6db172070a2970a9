// conv_transpose2d: forward, input gradient and weight/bias gradients
// against the double scatter reference on awkward shapes (odd sizes, stride
// 2 with output_padding 1, output_padding 1 under dilation 2 at stride 1,
// groups 2 and 3, depthwise, batch 1, no bias), on both GEMM paths where the
// shape allows the texel one, past the split-K length in every reduction,
// and against finite differences of the reference forward.
#include <catch2/catch.hpp>

#include <sstream>

#include "gpu/harness.h"
#include "ops/conv_transpose2d.h"
#include "ops/op_check.h"
#include "reference/conv_transpose2d.h"

namespace fovea::test {
namespace {

using ops::ConvTranspose2dShape;

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

std::string describe(const ConvTranspose2dShape& s, bool bias) {
  std::ostringstream o;
  o << "B" << s.batch << " C" << s.in_channels << " " << s.height << "x" << s.width << " -> O"
    << s.out_channels << " " << s.out_h() << "x" << s.out_w() << " k" << s.kh << "x" << s.kw
    << " s" << s.sh << "x" << s.sw << " p" << s.ph << "x" << s.pw << " op" << s.oph << "x"
    << s.opw << " d" << s.dh << "x" << s.dw << " g" << s.groups << (bias ? ", bias" : ", no bias");
  return o.str();
}

ConvTranspose2dShape shape(uint32_t B, uint32_t C, uint32_t H, uint32_t W, uint32_t O,
                           uint32_t kh, uint32_t kw, uint32_t stride, uint32_t ph, uint32_t pw,
                           uint32_t op = 0, uint32_t dil = 1, uint32_t groups = 1) {
  ConvTranspose2dShape s;
  s.batch = B, s.in_channels = C, s.height = H, s.width = W, s.out_channels = O;
  s.kh = kh, s.kw = kw, s.sh = s.sw = stride, s.ph = ph, s.pw = pw, s.oph = s.opw = op;
  s.dh = s.dw = dil, s.groups = groups;
  return s;
}

// Rounded up to a multiple of 4 floats, as the texel GEMMs need.
uint64_t padded(uint64_t floats) { return (floats + 3) / 4 * 4; }

// One program: forward x -> y, then, for an independent upstream gradient
// dy (as from L = sum(y ⊙ dy)), cols = im2col(dy), dx, dw and db. Forward
// and backward share one workspace, as the header allows.
struct Run {
  std::vector<float> x, w, b, dy;    // inputs
  std::vector<float> y, dx, dw, db;  // kernel outputs
  std::vector<std::string> kernels;  // kernel of each dispatch, in order
};

Run run_op(const ConvTranspose2dShape& s, bool bias, uint64_t seed, bool portable) {
  const uint64_t nx = s.x_floats(), nw = s.w_floats(), ny = s.y_floats(), O = s.out_channels;
  Run r;
  r.x = random_floats(nx, seed + 1);
  r.w = random_floats(nw, seed + 2);
  r.b = random_floats(O, seed + 3);
  r.dy = random_floats(ny, seed + 4);
  OpRun run;
  auto x = run.tensor("x", padded(nx)), w = run.tensor("w", padded(nw));
  auto b = run.tensor("b", O), dy = run.tensor("dy", padded(ny));
  auto y = run.tensor("y", ny), dx = run.tensor("dx", nx);
  auto dw = run.tensor("dw", nw), db = run.tensor("db", O);
  auto cols = run.tensor("cols", padded(s.cols_floats()));
  run.commit();
  run.set(x, r.x);
  run.set(w, r.w);
  run.set(b, r.b);
  run.set(dy, r.dy);
  run.set(y, garbage(ny, seed));
  run.set(dx, garbage(nx, seed));
  run.set(dw, garbage(nw, seed));
  run.set(db, garbage(O, seed));
  run.set(cols, garbage(s.cols_floats(), seed));
  auto& p = run.program();
  {
    KernelMode mode(portable);
    const gpu::View bias_view = bias ? b : gpu::View{};
    ops::record_conv_transpose2d_forward(p, s, x, w, bias_view, y, cols, "convt");
    ops::record_conv_transpose2d_backward_cols(p, s, dy, cols, "convt.backward");
    ops::record_conv_transpose2d_backward_input(p, s, cols, w, dx, "convt.backward.input");
    ops::record_conv_transpose2d_backward_params(p, s, x, cols, dy, dw, bias ? db : gpu::View{},
                                                 "convt.backward");
  }
  for (const auto& d : p.dispatches()) r.kernels.push_back(d.kernel->name);
  run.run();
  r.y = run.get(y, ny);
  r.dx = run.get(dx, nx);
  r.dw = run.get(dw, nw);
  if (bias) r.db = run.get(db, O);
  return r;
}

// Compares every output with the reference on both kernel sets; returns the
// kernels the fast-path run used.
std::vector<std::string> check(const ConvTranspose2dShape& s, bool bias, uint64_t seed) {
  std::vector<std::string> fast;
  for (bool portable : {true, false}) {
    Run r = run_op(s, bias, seed, portable);
    std::string kernels;
    for (const auto& k : r.kernels) kernels += k + " ";
    INFO(describe(s, bias) << (portable ? ", portable" : ", auto") << ": " << kernels);
    const ref::Tensor x = ref::widen(r.x), w = ref::widen(r.w), dy = ref::widen(r.dy);
    const ref::Tensor b = bias ? ref::widen(r.b) : ref::Tensor{};
    const uint64_t og = s.out_channels / s.groups;
    check_close(r.y, ref::conv_transpose2d_forward(s, x, w, b),
                gemm_atol(uint64_t(s.in_channels / s.groups) * s.taps()), kGemmRtol, "y");
    auto g = ref::conv_transpose2d_backward(s, x, w, dy);
    check_close(r.dx, g.dx, gemm_atol(og * s.taps()), kGemmRtol, "dx");
    check_close(r.dw, g.dw, gemm_atol(uint64_t(s.batch) * s.in_plane()), kGemmRtol, "dw");
    if (bias)
      check_close(r.db, g.db, gemm_atol(uint64_t(s.batch) * s.out_plane()), kGemmRtol, "db");
    if (!portable) fast = r.kernels;
  }
  return fast;
}

bool uses_texel_gemm(const std::vector<std::string>& kernels) {
  for (const auto& k : kernels)
    if (k.rfind("dense/gemm_", 0) == 0) return true;
  return false;
}

// L = sum(y ⊙ up) through the reference forward; the GPU gradients of a run
// whose upstream gradient was `up` must equal its central differences.
void check_gradients(const ConvTranspose2dShape& s, uint64_t seed) {
  Run r = run_op(s, true, seed, true);
  INFO(describe(s, true));
  const ref::Tensor x = ref::widen(r.x), w = ref::widen(r.w), b = ref::widen(r.b);
  const ref::Tensor up = ref::widen(r.dy);
  auto loss = [&](const ref::Tensor& xx, const ref::Tensor& ww, const ref::Tensor& bb) {
    ref::Tensor y = ref::conv_transpose2d_forward(s, xx, ww, bb);
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += y[i] * up[i];
    return l;
  };
  check_finite_differences(r.dx, x, [&](const ref::Tensor& v) { return loss(v, w, b); }, 1e-3,
                           200, 1e-4, 1e-3, "dx");
  check_finite_differences(r.dw, w, [&](const ref::Tensor& v) { return loss(x, v, b); }, 1e-3,
                           200, 1e-4, 1e-3, "dw");
  check_finite_differences(r.db, b, [&](const ref::Tensor& v) { return loss(x, w, v); }, 1e-3,
                           200, 1e-4, 1e-3, "db");
}

}  // namespace

TEST_CASE("conv_transpose2d on odd shapes, 3x3 padding 1, and a 1x1 image", "[conv_transpose2d]") {
  check(shape(2, 3, 7, 5, 4, 3, 3, 1, 1, 1), true, 10);
  check(shape(1, 1, 1, 1, 3, 1, 1, 1, 0, 0), true, 11);  // batch 1, 1x1 -> 1x1
  check(shape(1, 2, 1, 1, 3, 2, 3, 1, 0, 0), false, 12);  // 1x1 -> 2x3, every tap one output
}

TEST_CASE("conv_transpose2d with stride 2 and output_padding 1", "[conv_transpose2d]") {
  check(shape(1, 5, 9, 11, 6, 3, 2, 2, 1, 0, 1), true, 20);   // 18x22, non-square kernel
  check(shape(3, 2, 5, 7, 5, 5, 5, 2, 2, 2, 1), false, 21);   // odd batch, no bias
  auto s = shape(2, 3, 4, 3, 2, 4, 1, 3, 1, 0);
  s.sw = 2, s.oph = 2, s.opw = 1;  // different strides and output_padding per axis
  check(s, true, 22);
}

TEST_CASE("conv_transpose2d with dilation 2, output_padding 1 at stride 1", "[conv_transpose2d]") {
  // output_padding >= stride is legal under dilation 2; Conv2d's size formula
  // for the adjoint would give a larger plane than the input here.
  check(shape(2, 3, 5, 6, 4, 3, 3, 1, 1, 1, 1, 2), true, 30);
  check(shape(1, 2, 7, 4, 3, 2, 3, 2, 0, 2, 1, 2), false, 31);
}

TEST_CASE("conv_transpose2d with groups 2 and 3 and depthwise", "[conv_transpose2d]") {
  check(shape(2, 4, 5, 6, 6, 3, 3, 2, 1, 1, 1, 1, 2), true, 40);
  check(shape(3, 6, 4, 5, 9, 3, 3, 1, 2, 2, 0, 2, 3), true, 41);
  check(shape(2, 3, 5, 5, 3, 3, 3, 2, 1, 1, 1, 1, 3), false, 42);  // depthwise
  check(shape(1, 3, 6, 5, 6, 2, 2, 2, 0, 0, 0, 1, 3), true, 43);   // channel multiplier 2
}

TEST_CASE("conv_transpose2d on shapes the texel GEMMs accept", "[conv_transpose2d]") {
  // plane 6 x 6 = 36 and (O/groups) * 9 = 36 are multiples of 4: all three
  // GEMMs take texel kernels (tn forward, nn input gradient, nt weights).
  auto fast = check(shape(2, 8, 6, 6, 4, 3, 3, 2, 1, 1, 1), true, 50);
  CHECK(uses_texel_gemm(fast));
  fast = check(shape(1, 8, 4, 4, 8, 3, 3, 1, 1, 1, 0, 1, 2), false, 51);  // groups 2
  CHECK(uses_texel_gemm(fast));
}

TEST_CASE("conv_transpose2d reductions longer than one split", "[conv_transpose2d]") {
  // Weight gradient over 135 x 135 = 18,225 input positions (split-K) and
  // bias gradient over 270 x 270 = 72,900 output positions (> 70,000, split).
  check(shape(1, 1, 135, 135, 2, 3, 3, 2, 1, 1, 1), true, 60);
  // Input gradient over (O/groups) * KH * KW = 2048 * 9 = 18,432 values.
  check(shape(1, 2, 1, 1, 2048, 3, 3, 1, 0, 0), true, 61);
}

TEST_CASE("conv_transpose2d gradients equal finite differences of the reference", "[conv_transpose2d]") {
  check_gradients(shape(2, 4, 4, 5, 6, 3, 3, 2, 1, 1, 1, 1, 2), 70);  // stride 2, op 1, groups 2
  check_gradients(shape(1, 3, 5, 4, 3, 3, 2, 1, 2, 1, 1, 2, 3), 71);  // dilation 2, op 1, groups 3
}

TEST_CASE("conv_transpose2d rejects shapes PyTorch rejects", "[conv_transpose2d]") {
  auto bad_op = shape(1, 2, 5, 5, 2, 3, 3, 2, 1, 1, 2);  // output_padding 2, stride 2, dilation 1
  CHECK_THROWS_WITH(bad_op.validate("convt"), Catch::Contains("output_padding 2x2"));
  auto bad_groups = shape(1, 4, 5, 5, 6, 3, 3, 1, 1, 1, 0, 1, 4);
  CHECK_THROWS_WITH(bad_groups.validate("convt"), Catch::Contains("groups 4"));
  auto no_output = shape(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);  // 1 - 2 < 1
  CHECK_THROWS_WITH(no_output.validate("convt"), Catch::Contains("leaves no output"));
  CHECK_NOTHROW(shape(1, 1, 3, 3, 1, 3, 3, 1, 0, 0, 1, 2).validate("convt"));
}

}  // namespace fovea::test
