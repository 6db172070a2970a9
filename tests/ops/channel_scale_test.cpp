// channel_scale: squeeze-excitation's gating y = x s[b, c] and its gradients
// dx = dy s, ds = plane sums of dy x, against the double reference and
// finite differences, on planes with and without a vec4 path, planes split
// into several chunks, a plane past lavapipe's loop budget, row windows over
// a lowered storage range, and the refused shapes.
#include <catch2/catch.hpp>

#include "gpu/harness.h"
#include "ops/channel_scale.h"
#include "ops/op_check.h"
#include "ops/split_check.h"
#include "reference/channel_scale.h"
#include "util/error.h"

namespace fovea::test {
namespace {

struct ScaleRun {
  std::vector<float> y, dx, ds;
};

ScaleRun run_scale(const ops::ChannelScaleShape& sh, const std::vector<float>& x, const std::vector<float>& s,
                   const std::vector<float>& dy, bool with_dx = true) {
  const uint64_t n = uint64_t(sh.batch) * sh.channels * sh.plane, rows = uint64_t(sh.batch) * sh.channels;
  OpRun run;
  auto xv = run.tensor("x", n), sv = run.tensor("s", rows), yv = run.tensor("y", n);
  auto dyv = run.tensor("dy", n), dxv = run.tensor("dx", n), dsv = run.tensor("ds", rows);
  run.commit();
  run.set(xv, x);
  run.set(sv, s);
  run.set(dyv, dy);
  run.set(yv, garbage(n, 1));
  run.set(dxv, garbage(n, 2));
  run.set(dsv, garbage(rows, 3));
  ops::record_channel_scale_forward(run.program(), sh, xv, sv, yv, "se.scale");
  ops::record_channel_scale_backward(run.program(), sh, xv, sv, dyv, with_dx ? dxv : gpu::View{}, dsv,
                                     "se.scale.backward");
  run.run();
  return {run.get(yv, n), run.get(dxv, n), run.get(dsv, rows)};
}

void check_scale(const ops::ChannelScaleShape& sh, uint64_t seed, bool finite_differences) {
  INFO("batch " << sh.batch << ", channels " << sh.channels << ", plane " << sh.plane);
  const uint64_t n = uint64_t(sh.batch) * sh.channels * sh.plane, rows = uint64_t(sh.batch) * sh.channels;
  const auto x = random_floats(n, seed), s = random_floats(rows, seed + 1, 0.05f, 1.0f);
  const auto dy = random_floats(n, seed + 2);
  const ScaleRun r = run_scale(sh, x, s, dy);
  const ref::Tensor xd = ref::widen(x), sd = ref::widen(s), dyd = ref::widen(dy);
  check_close(r.y, ref::channel_scale(xd, sd, rows, sh.plane), 1e-7, 1e-6, "y");
  check_close(r.dx, ref::channel_scale(dyd, sd, rows, sh.plane), 1e-7, 1e-6, "dx");
  check_close(r.ds, ref::channel_scale_ds(xd, dyd, rows, sh.plane), gemm_atol(sh.plane), kGemmRtol, "ds");
  if (!finite_differences) return;
  // L(x, s) = sum(y ⊙ dy) is bilinear: central differences in x (s) are
  // exact up to double rounding.
  auto loss_x = [&](const ref::Tensor& xv) { return weighted_sum(ref::channel_scale(xv, sd, rows, sh.plane), dy); };
  auto loss_s = [&](const ref::Tensor& sv) { return weighted_sum(ref::channel_scale(xd, sv, rows, sh.plane), dy); };
  check_finite_differences(r.dx, xd, loss_x, 1e-2, 60, 1e-6, 1e-5, "dx");
  check_finite_differences(r.ds, sd, loss_s, 1e-2, 60, gemm_atol(sh.plane), kGemmRtol, "ds");
}

}  // namespace

TEST_CASE("channel scale and its gradients match the reference and finite differences", "[channel_scale]") {
  uint64_t seed = 100;
  for (ops::ChannelScaleShape sh : {ops::ChannelScaleShape{1, 1, 1}, {3, 5, 7}, {17, 3, 31}, {2, 65, 16},
                                    {4, 6, 49}, {1, 2, 196}, {31, 1, 3}}) {
    check_scale(sh, seed, true);
    seed += 10;
  }
}

TEST_CASE("channel scale sums planes longer than one chunk in order", "[channel_scale][chunked]") {
  // 4099: two chunks on the scalar path; 8200: three on the vec4 path.
  check_scale({2, 3, 4099}, 200, true);
  check_scale({1, 2, 8200}, 210, false);
}

TEST_CASE("channel scale gradient over a plane past the loop budget", "[channel_scale][loop-budget]") {
  // 70,001 and 270,000 values per plane: 18 and 66 chunks, each far inside
  // lavapipe's 65,535 iterations; a single loop over the plane would stop
  // early there.
  check_scale({1, 1, 70001}, 300, false);
  check_scale({2, 1, 270000}, 310, false);
}

TEST_CASE("channel scale backward with only ds asked leaves dx alone", "[channel_scale]") {
  const ops::ChannelScaleShape sh{5, 3, 9};
  const uint64_t n = 5 * 3 * 9;
  const auto x = random_floats(n, 400), s = random_floats(15, 401), dy = random_floats(n, 402);
  const ScaleRun r = run_scale(sh, x, s, dy, false);
  check_close(r.dx, ref::widen(garbage(n, 2)), 0, 0, "dx untouched");
  check_close(r.ds, ref::channel_scale_ds(ref::widen(x), ref::widen(dy), 15, 9), gemm_atol(9), kGemmRtol, "ds");
}

TEST_CASE("channel scale over row windows equals the unsplit run", "[channel_scale][split]") {
  const ops::ChannelScaleShape sh{150, 4, 9};
  const uint64_t n = 150 * 4 * 9, rows = 150 * 4;
  const auto x = random_floats(n, 500), s = random_floats(rows, 501), dy = random_floats(n, 502);
  auto record = [&](gpu::Program& p, const Views& i, const Views& o) {
    ops::record_channel_scale_forward(p, sh, i[0], i[1], o[0], "se.scale");
    ops::record_channel_scale_backward(p, sh, i[0], i[1], i[2], o[1], o[2], "se.scale.backward");
  };
  const Outputs whole = run_op({x, s, dy}, {n, n, rows}, 0, record);
  const Outputs split = run_op({x, s, dy}, {n, n, rows}, kWindowRows * 4 * 9 * 4, record);
  check_split(split, whole, {true, true, true});
  const ref::Tensor xd = ref::widen(x), sd = ref::widen(s), dyd = ref::widen(dy);
  check_close(split.values[0], ref::channel_scale(xd, sd, rows, 9), 1e-7, 1e-6, "y");
  check_close(split.values[2], ref::channel_scale_ds(xd, dyd, rows, 9), gemm_atol(9), kGemmRtol, "ds");
}

TEST_CASE("channel scale refuses empty shapes and short views", "[channel_scale]") {
  OpRun run;
  auto x = run.tensor("x", 60), s = run.tensor("s", 6), y = run.tensor("y", 60);
  run.commit();
  CHECK_THROWS_WITH(ops::record_channel_scale_forward(run.program(), {2, 0, 5}, x, s, y, "se1.scale"),
                    Catch::Contains("se1.scale: empty tensor"));
  CHECK_THROWS_WITH(ops::record_channel_scale_forward(run.program(), {2, 3, 11}, x, s, y, "se1.scale"),
                    Catch::Contains("needs 66"));
  CHECK_THROWS_WITH(ops::record_channel_scale_backward(run.program(), {3, 3, 5}, x, s, x, y, gpu::View{}, "se1"),
                    Catch::Contains("(s): view s holds 6 values, needs 9"));
}

}  // namespace fovea::test
