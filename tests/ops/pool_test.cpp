// pool: max, average and global average pooling against the double
// reference (PyTorch's CPU semantics) on awkward and random shapes: floor
// output sizes on odd planes, overlapping windows with padding, dilation,
// ties, NaN and -inf, every backward against the reference and against
// finite differences, a global average over a plane past lavapipe's loop
// budget, and the shape errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "data/split.h"
#include "gpu/harness.h"
#include "ops/op_check.h"
#include "ops/pool.h"
#include "reference/pool.h"

namespace fovea::test {
namespace {

// Strides of 0 mean "the kernel size", as in ops::Pool2dShape.
struct PoolCase {
  uint32_t n, c, h, w, kh, kw, sh, sw, ph, pw, dh = 1, dw = 1;
};

ops::Pool2dShape op_shape(const PoolCase& c) {
  return {c.n, c.c, c.h, c.w, c.kh, c.kw, c.sh, c.sw, c.ph, c.pw, c.dh, c.dw};
}
ref::Pool2dShape ref_shape(const PoolCase& c) {
  return {c.n,  c.c,  c.h,  c.w,  c.kh, c.kw, c.sh ? c.sh : c.kh, c.sw ? c.sw : c.kw,
          c.ph, c.pw, c.dh, c.dw};
}
uint64_t in_count(const PoolCase& c) { return uint64_t(c.n) * c.c * c.h * c.w; }
uint64_t out_count(const PoolCase& c) {
  const auto s = ref_shape(c);
  return uint64_t(c.n) * c.c * s.out_h() * s.out_w();
}

std::string describe(const PoolCase& c) {
  std::ostringstream s;
  s << "x " << c.n << "x" << c.c << "x" << c.h << "x" << c.w << ", kernel " << c.kh << "x"
    << c.kw << ", stride " << c.sh << "x" << c.sw << ", padding " << c.ph << "x" << c.pw
    << ", dilation " << c.dh << "x" << c.dw;
  return s.str();
}

// Equal values (NaN equals NaN, -inf equals -inf): max pooling copies.
void check_same(const std::vector<float>& got, const ref::Tensor& want, const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const float w = float(want[i]);
    if (!(got[i] == w || (std::isnan(got[i]) && std::isnan(w))))
      FAIL(what << ": element " << i << " is " << got[i] << ", reference " << w);
  }
}

void check_indices(const std::vector<uint32_t>& got, const std::vector<uint32_t>& want,
                   const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i]) FAIL(what << ": element " << i << " is " << got[i] << ", reference " << want[i]);
}

struct MaxResult {
  std::vector<float> y, dx;
  std::vector<uint32_t> arg;
  bool texel = false;  // some dispatch read through a texel buffer
};

// Forward then backward (from the forward's argmax) in one program.
MaxResult run_max(const PoolCase& c, const std::vector<float>& x, const std::vector<float>& dy) {
  const uint64_t ni = in_count(c), no = out_count(c);
  OpRun run;
  auto vx = run.tensor("x", ni), vy = run.tensor("y", no), va = run.tensor("argmax", no);
  auto vdy = run.tensor("dy", no), vdx = run.tensor("dx", ni);
  run.commit();
  run.set(vx, x);
  run.set(vdy, dy);
  run.set(vy, garbage(no, 1));
  run.set(va, garbage(no, 2));
  run.set(vdx, garbage(ni, 3));
  ops::record_maxpool2d_forward(run.program(), op_shape(c), vx, vy, va, "maxpool.forward");
  ops::record_maxpool2d_backward(run.program(), op_shape(c), va, vdy, vdx, "maxpool.backward");
  run.run();
  MaxResult r{run.get(vy, no), run.get(vdx, ni), std::vector<uint32_t>(no)};
  const auto bits = run.get(va, no);
  std::memcpy(r.arg.data(), bits.data(), no * 4);
  for (const auto& d : run.program().dispatches())
    for (const auto& b : d.bindings) r.texel = r.texel || b.texel;
  return r;
}

MaxResult check_max(const PoolCase& c, const std::vector<float>& x, const std::vector<float>& dy) {
  INFO("max pooling, " << describe(c));
  const MaxResult r = run_max(c, x, dy);
  const ref::MaxPool2d want = ref::maxpool2d_forward(ref_shape(c), ref::widen(x));
  check_same(r.y, want.y, "y");
  check_indices(r.arg, want.argmax, "argmax");
  // dx adds at most nh * nw values of dy in the reference's order.
  check_close(r.dx, ref::maxpool2d_backward(ref_shape(c), want.argmax, ref::widen(dy)), 1e-6,
              1e-6, "dx");
  return r;
}

struct AvgResult {
  std::vector<float> y, dx;
};

AvgResult run_avg(const PoolCase& c, bool cip, const std::vector<float>& x,
                  const std::vector<float>& dy) {
  const uint64_t ni = in_count(c), no = out_count(c);
  OpRun run;
  auto vx = run.tensor("x", ni), vy = run.tensor("y", no);
  auto vdy = run.tensor("dy", no), vdx = run.tensor("dx", ni);
  run.commit();
  run.set(vx, x);
  run.set(vdy, dy);
  run.set(vy, garbage(no, 4));
  run.set(vdx, garbage(ni, 5));
  ops::record_avgpool2d_forward(run.program(), op_shape(c), cip, vx, vy, "avgpool.forward");
  ops::record_avgpool2d_backward(run.program(), op_shape(c), cip, vdy, vdx, "avgpool.backward");
  run.run();
  return {run.get(vy, no), run.get(vdx, ni)};
}

AvgResult check_avg(const PoolCase& c, bool cip, const std::vector<float>& x,
                    const std::vector<float>& dy) {
  INFO("average pooling, " << describe(c) << (cip ? ", padding counted" : ", padding not counted"));
  const AvgResult r = run_avg(c, cip, x, dy);
  // Sums of at most kh*kw (or nh*nw) float terms of magnitude <= 1.
  check_close(r.y, ref::avgpool2d_forward(ref_shape(c), cip, ref::widen(x)), 1e-6, 1e-5, "y");
  check_close(r.dx, ref::avgpool2d_backward(ref_shape(c), cip, ref::widen(dy)), 1e-6, 1e-5, "dx");
  return r;
}

// Whether every window has a real tap (the op rejects shapes where not).
bool covers(uint32_t in, uint32_t out, uint32_t k, uint32_t s, uint32_t p, uint32_t d) {
  for (int64_t o = 0; o < out; ++o) {
    bool any = false;
    for (int64_t i = 0; i < k; ++i) any |= o * s - p + i * d >= 0 && o * s - p + i * d < in;
    if (!any) return false;
  }
  return true;
}

// Random valid shapes: odd and even planes 1..23, kernels 1..5, strides
// 1..3 (or the default), padding up to half the kernel, dilation 1..3
// (with_dilation), channels from {1, 3, 5, 17, 31}.
std::vector<PoolCase> random_cases(uint64_t seed, int count, bool with_dilation) {
  data::Rng rng(seed);
  const uint32_t channels[] = {1, 3, 5, 17, 31};
  std::vector<PoolCase> cases;
  while (int(cases.size()) < count) {
    PoolCase c{uint32_t(1 + rng.below(3)), channels[rng.below(5)], uint32_t(1 + rng.below(23)),
               uint32_t(1 + rng.below(23)), uint32_t(1 + rng.below(5)), uint32_t(1 + rng.below(5)),
               uint32_t(rng.below(4)), uint32_t(rng.below(4)), 0, 0};
    c.ph = uint32_t(rng.below(c.kh / 2 + 1));
    c.pw = uint32_t(rng.below(c.kw / 2 + 1));
    if (with_dilation) c.dh = uint32_t(1 + rng.below(3)), c.dw = uint32_t(1 + rng.below(3));
    const auto s = ref_shape(c);
    if (s.out_h() == 0 || s.out_w() == 0 || !covers(c.h, s.out_h(), c.kh, s.sh, c.ph, c.dh) ||
        !covers(c.w, s.out_w(), c.kw, s.sw, c.pw, c.dw))
      continue;
    cases.push_back(c);
  }
  return cases;
}

// Named shapes: kernel 2 stride 2 on odd planes (floor drops the last row and
// column), kernel 3 stride 2 padding 1 (overlap and padding), kernel 3
// stride 1, default strides, non-square windows, padding of half an even
// kernel, kernel 1, batch 1, channels 1, 3 and 17, and planes 1 or 2 wide
// with ph % sh != 0, where a lane's run of 4 elements crosses rows and planes.
const PoolCase kShapes[] = {
    {2, 3, 7, 9, 2, 2, 2, 2, 0, 0},   {3, 5, 11, 13, 3, 3, 2, 2, 1, 1},
    {1, 17, 9, 7, 3, 3, 1, 1, 0, 0},  {1, 1, 5, 5, 5, 5, 1, 1, 2, 2},
    {3, 17, 10, 15, 2, 3, 1, 2, 1, 0}, {1, 3, 9, 10, 3, 2, 0, 0, 1, 1},
    {2, 1, 6, 6, 4, 4, 1, 1, 2, 2},   {1, 3, 4, 5, 1, 1, 2, 3, 0, 0},
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0},   {5, 31, 8, 8, 2, 2, 2, 2, 1, 1},
    {3, 5, 9, 1, 3, 1, 2, 1, 1, 0},   {2, 3, 5, 2, 2, 2, 2, 1, 1, 1},
};

// Dilated max pooling: dilation 2 with overlap and padding, and mixed.
const PoolCase kDilated[] = {
    {2, 3, 13, 11, 3, 3, 2, 1, 1, 1, 2, 2},
    {1, 3, 8, 19, 2, 3, 1, 2, 1, 1, 3, 2},
    {1, 17, 9, 9, 3, 3, 1, 1, 1, 1, 2, 2},
};

}  // namespace

TEST_CASE("max pooling forward, argmax and backward match the reference", "[pool]") {
  uint64_t seed = 10;
  for (const PoolCase& c : kShapes) {
    ++seed;
    check_max(c, random_floats(in_count(c), seed), random_floats(out_count(c), seed + 500));
  }
  for (const PoolCase& c : kDilated) {
    ++seed;
    check_max(c, random_floats(in_count(c), seed), random_floats(out_count(c), seed + 500));
  }
  for (const PoolCase& c : random_cases(77, 14, true)) {
    ++seed;
    check_max(c, random_floats(in_count(c), seed), random_floats(out_count(c), seed + 500));
  }
}

TEST_CASE("max pooling: the texel-buffer and storage-buffer kernels agree bit for bit",
          "[pool][portable]") {
  // Where the device allows, max pooling reads through texel buffers with
  // unrolled window loops (LOOP_H, LOOP_W); FOVEA_FAST=0 takes the storage
  // buffers. Both must equal the reference and each other exactly, on small
  // windows (unrolled) and large ones (loops), tails of 1-3 elements.
  auto& ctx = context();
  const bool old = ctx.portable_kernels;
  uint64_t seed = 900;
  std::vector<PoolCase> cases = random_cases(79, 6, true);
  cases.push_back({3, 5, 13, 11, 2, 2, 0, 0, 0, 0});
  cases.push_back({2, 3, 17, 15, 6, 5, 2, 3, 3, 2});
  for (const PoolCase& c : cases) {
    ++seed;
    const auto x = random_floats(in_count(c), seed), dy = random_floats(out_count(c), seed + 500);
    ctx.portable_kernels = true;
    const MaxResult portable = check_max(c, x, dy);
    ctx.portable_kernels = old;
    const MaxResult fast = check_max(c, x, dy);
    INFO(describe(c));
    CHECK_FALSE(portable.texel);
    CHECK(fast.texel == (!old && in_count(c) <= ctx.info().max_texel_elements));
    CHECK(std::memcmp(portable.y.data(), fast.y.data(), fast.y.size() * 4) == 0);
    CHECK(portable.arg == fast.arg);
    CHECK(std::memcmp(portable.dx.data(), fast.dx.data(), fast.dx.size() * 4) == 0);
  }
  ctx.portable_kernels = old;
}

TEST_CASE("max pooling ties keep the first maximum in window scan order", "[pool][ties]") {
  // 3x4 plane, kernel 3 stride 2 padding 1: window (0,0) holds four 1s
  // (first real tap (0,0) wins), (0,1) two 2s in each row ((0,2) wins), (1,0)
  // the single 3 at (2,0), (1,1) two 2s in row 1 ((1,2) wins).
  const PoolCase c{1, 1, 3, 4, 3, 3, 2, 2, 1, 1};
  const std::vector<float> x = {1, 1, 2, 2, 1, 1, 2, 2, 3, 0.5f, 0.5f, 0.5f};
  const MaxResult r = check_max(c, x, {0.25f, 0.5f, 0.75f, 1.0f});
  check_same(r.y, {1, 2, 3, 2}, "y pinned");
  check_indices(r.arg, {0, 2, 8, 6}, "argmax pinned");
  // Windows (0,1) and (1,1) overlap; their winners differ, so dx is pinned too.
  check_close(r.dx, {0.25, 0, 0.5, 0, 0, 0, 1.0, 0, 0.75, 0, 0, 0}, 0, 0, "dx pinned");
  // Random planes of four repeated values: ties in most windows, overlapping.
  uint64_t seed = 200;
  for (const PoolCase& t : {PoolCase{2, 3, 9, 11, 3, 3, 2, 2, 1, 1},
                            PoolCase{1, 5, 8, 7, 2, 2, 1, 1, 1, 1},
                            PoolCase{2, 1, 12, 9, 3, 2, 1, 1, 1, 0, 2, 3}}) {
    auto x4 = random_floats(in_count(t), ++seed);
    for (float& v : x4) v = 0.25f * float(1 + int((v + 1.0f) * 2.0f));  // {0.25, .5, .75, 1}
    check_max(t, x4, random_floats(out_count(t), seed + 1));
  }
}

TEST_CASE("max pooling: NaN wins (the last NaN), all -inf reports the first real tap",
          "[pool][nan]") {
  // Kernel 2 stride 2: window 0 = [1, NaN; NaN, 5] -> NaN at (1,0), the
  // last NaN (5 > NaN is false); window 1 = [2, 3; 4, -1] -> 4 at (1,2).
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const MaxResult a = check_max({1, 1, 2, 4, 2, 2, 2, 2, 0, 0}, {1, nan, 2, 3, nan, 5, 4, -1},
                                {0.5f, -0.25f});
  check_indices(a.arg, {4, 6}, "argmax pinned");
  CHECK(std::isnan(a.y[0]));
  // Kernel 3 stride 2 padding 1 on [-inf, -inf, 7; -inf, -inf, -inf]: window
  // (0,0) has only -inf (y = -inf at its first real tap 0), window (0,1) 7.
  const float inf = std::numeric_limits<float>::infinity();
  const MaxResult b = check_max({1, 1, 2, 3, 3, 3, 2, 2, 1, 1}, {-inf, -inf, 7, -inf, -inf, -inf},
                                {0.5f, -0.25f});
  check_indices(b.arg, {0, 2}, "argmax pinned");
  check_same(b.y, {-inf, 7}, "y pinned");
}

TEST_CASE("max pooling backward equals finite differences of the reference forward",
          "[pool][gradient]") {
  uint64_t seed = 300;
  std::vector<PoolCase> cases(std::begin(kShapes), std::begin(kShapes) + 7);
  cases.insert(cases.end(), std::begin(kDilated), std::end(kDilated));
  for (const PoolCase& c : cases) {
    INFO(describe(c));
    // Distinct values at least 2/n apart: a step of 0.1/n never reorders a
    // window, so L is linear there and the central difference exact.
    const auto x = distinct_floats(in_count(c), ++seed);
    const auto dy = random_floats(out_count(c), seed + 1);
    const MaxResult r = run_max(c, x, dy);
    auto loss = [&](const ref::Tensor& v) {
      return weighted_sum(ref::maxpool2d_forward(ref_shape(c), v).y, dy);
    };
    check_finite_differences(r.dx, ref::widen(x), loss, 0.1 / double(in_count(c)), 300, 1e-6,
                             1e-5, "dx");
  }
}

// The probe's frozen max pooling: the argmax of one input applied to
// another. y must be x at the first input's winners (not x's own maxima),
// and maxpool2d_backward with that argmax must be its adjoint:
// <gather(x), dy> = <x, backward(dy)>.
static void check_gather(const PoolCase& c, uint64_t seed) {
  INFO("gather, " << describe(c));
  const uint64_t ni = in_count(c), no = out_count(c);
  const auto x0 = random_floats(ni, seed), x = random_floats(ni, seed + 1), dy = random_floats(no, seed + 2);
  const ref::MaxPool2d base = ref::maxpool2d_forward(ref_shape(c), ref::widen(x0));
  OpRun run;
  auto vx = run.tensor("x", ni), va = run.tensor("argmax", no), vy = run.tensor("y", no);
  auto vdy = run.tensor("dy", no), vdx = run.tensor("dx", ni);
  run.commit();
  run.set(vx, x), run.set(vdy, dy), run.set(vy, garbage(no, 1)), run.set(vdx, garbage(ni, 2));
  run.set_u32(va, base.argmax);
  ops::record_maxpool2d_gather(run.program(), op_shape(c), vx, va, vy, "maxpool.gather");
  ops::record_maxpool2d_backward(run.program(), op_shape(c), va, vdy, vdx, "maxpool.backward");
  run.run();
  const auto y = run.get(vy, no), dx = run.get(vdx, ni);
  const size_t plane_in = size_t(c.h) * c.w, plane_out = no / (uint64_t(c.n) * c.c);
  ref::Tensor want(no);
  for (size_t o = 0; o < no; ++o) want[o] = x[(o / plane_out) * plane_in + base.argmax[o]];
  check_same(y, want, "y");
  double lhs = 0, rhs = 0;
  for (size_t o = 0; o < no; ++o) lhs += double(y[o]) * dy[o];
  for (size_t i = 0; i < ni; ++i) rhs += double(x[i]) * dx[i];
  CHECK(std::fabs(lhs - rhs) <= 1e-5 * (1 + std::fabs(lhs)) + 1e-9 * double(no));
}

TEST_CASE("max pooling with a fixed argmax gathers the winners and is the backward's adjoint", "[pool]") {
  uint64_t seed = 800;
  for (const PoolCase& c : kShapes) check_gather(c, seed += 3);
  for (const PoolCase& c : kDilated) check_gather(c, seed += 3);
}

TEST_CASE("average pooling forward and backward match the reference", "[pool]") {
  uint64_t seed = 400;
  for (bool cip : {true, false}) {
    for (const PoolCase& c : kShapes) {
      ++seed;
      check_avg(c, cip, random_floats(in_count(c), seed), random_floats(out_count(c), seed + 500));
    }
    for (const PoolCase& c : random_cases(cip ? 91 : 92, 12, false)) {
      ++seed;
      check_avg(c, cip, random_floats(in_count(c), seed), random_floats(out_count(c), seed + 500));
    }
  }
}

TEST_CASE("average pooling divisor with padding, counted and not", "[pool]") {
  // x = 1..9 as 3x3, kernel 3 stride 2 padding 1: every window holds 4 real
  // values; PyTorch gives [12, 16, 24, 28] / 9 with count_include_pad and
  // / 4 without. dx: the centre (1,1) is in all four windows.
  const PoolCase c{1, 1, 3, 3, 3, 3, 2, 2, 1, 1};
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9}, dy = {1, 2, 3, 4};
  const AvgResult in = check_avg(c, true, x, dy);
  check_close(in.y, {12 / 9.0, 16 / 9.0, 24 / 9.0, 28 / 9.0}, 1e-6, 1e-6, "y pinned");
  check_close(in.dx, {1 / 9.0, 3 / 9.0, 2 / 9.0, 4 / 9.0, 10 / 9.0, 6 / 9.0, 3 / 9.0, 7 / 9.0, 4 / 9.0},
              1e-6, 1e-6, "dx pinned");
  const AvgResult ex = check_avg(c, false, x, dy);
  check_close(ex.y, {3, 4, 6, 7}, 1e-6, 1e-6, "y pinned");
}

TEST_CASE("average pooling backward equals finite differences of the reference forward",
          "[pool][gradient]") {
  uint64_t seed = 600;
  for (bool cip : {true, false})
    for (const PoolCase& c : std::vector<PoolCase>(std::begin(kShapes), std::begin(kShapes) + 7)) {
      INFO(describe(c) << (cip ? ", padding counted" : ", padding not counted"));
      const auto x = random_floats(in_count(c), ++seed);
      const auto dy = random_floats(out_count(c), seed + 1);
      const AvgResult r = run_avg(c, cip, x, dy);
      auto loss = [&](const ref::Tensor& v) {
        return weighted_sum(ref::avgpool2d_forward(ref_shape(c), cip, v), dy);
      };
      // L is linear in x: the central difference is exact up to rounding.
      check_finite_differences(r.dx, ref::widen(x), loss, 1e-2, 300, 1e-6, 1e-5, "dx");
    }
}

TEST_CASE("pooling past the grid-stride cap of 65535 workgroups of 64 lanes", "[pool]") {
  // 17 million inputs and outputs (kernel 2, stride 1, padding 1): 4.25
  // million runs of 4 elements, more than the 4,194,240 lanes of the capped
  // grid, so lanes loop a second time in every kernel.
  const PoolCase c{1, 17, 1000, 1000, 2, 2, 1, 1, 1, 1};
  check_max(c, random_floats(in_count(c), 700), random_floats(out_count(c), 701));
  check_avg(c, false, random_floats(in_count(c), 702), random_floats(out_count(c), 703));
  check_gather(c, 704);
}

TEST_CASE("pooling with a 60x60 window, and an error past the loop budget", "[pool][loop-budget]") {
  // 4 outputs x (1 + 60 + 3600) taps per run: 14,645 iterations, under the
  // 16,384 budget; a 64x64 window would need 16,645.
  const PoolCase c{1, 3, 61, 62, 60, 60, 1, 1, 0, 0};
  check_max(c, random_floats(in_count(c), 710), random_floats(out_count(c), 711));
  check_avg(c, true, random_floats(in_count(c), 712), random_floats(out_count(c), 713));
  OpRun run;
  auto a = run.tensor("a", 64 * 64), b = run.tensor("b", 64 * 64);
  run.commit();
  CHECK_THROWS_WITH(ops::record_maxpool2d_forward(run.program(), {1, 1, 64, 64, 64, 64, 1, 1, 0, 0},
                                                  a, b, b, "pool"),
                    Catch::Contains("pool: a 64x64 window needs 16645 loop iterations"));
}

namespace {

struct GlobalResult {
  std::vector<float> y, dx;
};

GlobalResult run_global(uint32_t n, uint32_t c, uint32_t plane, const std::vector<float>& x,
                        const std::vector<float>& dy) {
  const uint64_t rows = uint64_t(n) * c, count = rows * plane;
  OpRun run;
  auto vx = run.tensor("x", count), vy = run.tensor("y", rows);
  auto vdy = run.tensor("dy", rows), vdx = run.tensor("dx", count);
  run.commit();
  run.set(vx, x);
  run.set(vdy, dy);
  run.set(vy, garbage(rows, 6));
  run.set(vdx, garbage(count, 7));
  ops::record_global_avgpool_forward(run.program(), n, c, plane, vx, vy, "gap.forward");
  ops::record_global_avgpool_backward(run.program(), n, c, plane, vdy, vdx, "gap.backward");
  run.run();
  return {run.get(vy, rows), run.get(vdx, count)};
}

}  // namespace

TEST_CASE("global average pooling matches the reference, planes past the loop budget",
          "[pool][loop-budget]") {
  struct Case {
    uint32_t n, c, plane;
  };
  // Planes 1..3 (several rows per 16-byte store), 49 and 63 (scalar sums),
  // 64 and 4096 (vec4, one chunk), 4097 and 70,001 (scalar, 2 and 18
  // chunks) and 256 x 300 = 76,800 (vec4, 19 chunks).
  uint64_t seed = 800;
  for (Case k : {Case{1, 1, 1}, Case{3, 17, 2}, Case{2, 5, 3}, Case{3, 31, 49}, Case{1, 3, 63},
                 Case{5, 7, 64}, Case{1, 3, 4096}, Case{2, 1, 4097}, Case{1, 3, 70001},
                 Case{3, 1, 256 * 300}}) {
    INFO("x " << k.n << "x" << k.c << "x" << k.plane);
    const uint32_t rows = k.n * k.c;
    const auto x = random_floats(uint64_t(rows) * k.plane, ++seed);
    const auto dy = random_floats(rows, seed + 1);
    const GlobalResult r = run_global(k.n, k.c, k.plane, x, dy);
    // The mean of L float terms in [-1, 1): rounding stays far below one
    // term's share 1/L of the mean even at L = 76,800 (1.3e-5).
    check_close(r.y, ref::global_avgpool_forward(rows, k.plane, ref::widen(x)), 1e-7, 1e-5, "y");
    check_close(r.dx, ref::global_avgpool_backward(rows, k.plane, ref::widen(dy)), 0, 1e-6, "dx");
    auto loss = [&](const ref::Tensor& v) {
      return weighted_sum(ref::global_avgpool_forward(rows, k.plane, v), dy);
    };
    check_finite_differences(r.dx, ref::widen(x), loss, 1e-2, 50, 1e-9, 1e-5, "dx");
  }
}

TEST_CASE("pooling rejects bad shapes and small views with clear errors", "[pool][errors]") {
  OpRun run;
  auto a = run.tensor("a", 4096), b = run.tensor("b", 4096), small = run.tensor("small", 3);
  run.commit();
  auto& p = run.program();
  auto max_fwd = [&](const ops::Pool2dShape& s) {
    ops::record_maxpool2d_forward(p, s, a, b, b, "pool1");
  };
  CHECK_THROWS_WITH(max_fwd({1, 1, 8, 8, 3, 3, 1, 1, 2, 1}),
                    Catch::Contains("pool1: padding 2x1 is over half the kernel 3x3"));
  CHECK_THROWS_WITH(max_fwd({1, 1, 2, 8, 3, 3, 1, 1, 0, 0}),
                    Catch::Contains("pool1: output would be empty (input 2x8, kernel 3x3"));
  // Window row 0 taps rows -1 and 2 of a 2-row input: only padding.
  CHECK_THROWS_WITH(max_fwd({1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 3, 1}),
                    Catch::Contains("covers only padding"));
  CHECK_THROWS_WITH(max_fwd({1, 1, 8, 8, 0, 3, 1, 1, 0, 0}), Catch::Contains("kernel 0x3 is empty"));
  CHECK_THROWS_WITH(max_fwd({1, 1, 8, 8, 2, 2, 1, 1, 0, 0, 0, 1}),
                    Catch::Contains("dilation 0x1 must be >= 1"));
  CHECK_THROWS_WITH(
      ops::record_avgpool2d_forward(p, {1, 1, 8, 8, 2, 2, 1, 1, 0, 0, 2, 2}, true, a, b, "pool2"),
      Catch::Contains("pool2: average pooling has no dilation"));
  CHECK_THROWS_WITH(ops::record_maxpool2d_backward(p, {1, 3, 8, 8, 2, 2, 2, 2, 0, 0}, a, small, b,
                                                   "pool3"),
                    Catch::Contains("pool3 (dy): view small holds 3 values, needs 48"));
  CHECK_THROWS_WITH(ops::record_global_avgpool_forward(p, 2, 3, 0, a, b, "gap"),
                    Catch::Contains("gap: empty input 2x3x0"));
  CHECK_THROWS_WITH(ops::record_global_avgpool_backward(p, 2, 3, 5, small, b, "gap"),
                    Catch::Contains("gap (dy): view small holds 3 values, needs 6"));
  CHECK(p.dispatches().empty());
}

}  // namespace fovea::test
