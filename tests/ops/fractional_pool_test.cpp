// Fractional max pooling (Graham): the GPU's region boundaries against the
// reference's 64-bit integer ones, bit for bit, in every mode; forward,
// argmax and backward against the reference; finite differences; the rate
// of 2-increments (alpha - 1 at every position) in both random modes; the
// deterministic evaluation regions; the same regions for the same step.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstring>
#include <tuple>

#include "ops/fractional_pool.h"
#include "ops/op_check.h"
#include "reference/fractional_pool.h"

namespace fovea::test {
namespace {

constexpr uint32_t kSeed = 31337, kStream = 12;

using Mode = ops::FractionalRegions;

ref::FractionalMode ref_mode(Mode m) {
  return m == Mode::Random ? ref::FractionalMode::Random
         : m == Mode::PseudoRandom ? ref::FractionalMode::PseudoRandom : ref::FractionalMode::Evaluation;
}
ops::FractionalPoolShape op_shape(const ref::FractionalPoolShape& s) {
  return {s.batch, s.channels, s.height, s.width, s.out_h, s.out_w, s.overlapping};
}
uint64_t in_count(const ref::FractionalPoolShape& s) { return uint64_t(s.batch) * s.channels * s.height * s.width; }
uint64_t out_count(const ref::FractionalPoolShape& s) { return uint64_t(s.batch) * s.channels * s.out_h * s.out_w; }

std::vector<uint32_t> as_u32(const std::vector<float>& v) {
  std::vector<uint32_t> u(v.size());
  std::memcpy(u.data(), v.data(), v.size() * 4);
  return u;
}

struct FracResult {
  std::vector<uint32_t> regions, arg;
  std::vector<float> y, dx;
};

FracResult run_frac(const ref::FractionalPoolShape& s, Mode mode, uint32_t step, const std::vector<float>& x,
                    const std::vector<float>& dy) {
  const auto os = op_shape(s);
  const uint64_t ni = in_count(s), no = out_count(s);
  OpRun run;
  auto vx = run.tensor("x", ni), vr = run.tensor("regions", os.region_words()), vy = run.tensor("y", no);
  auto va = run.tensor("argmax", no), vdy = run.tensor("dy", no), vdx = run.tensor("dx", ni);
  run.commit();
  run.set(vx, x);
  run.set(vdy, dy);
  run.set(vr, garbage(os.region_words(), 1));
  run.set(vy, garbage(no, 2));
  run.set(va, garbage(no, 3));
  run.set(vdx, garbage(ni, 4));
  ops::record_fractional_maxpool_forward(run.program(), os, mode, kStream, vx, vr, vy, va, "fmp.forward");
  ops::record_fractional_maxpool_backward(run.program(), os, vr, va, vdy, vdx, "fmp.backward");
  nn::StepParams sp;
  sp.seed = kSeed, sp.step = step, sp.rows = s.batch;
  run.run(sp);
  return {as_u32(run.get(vr, os.region_words())), as_u32(run.get(va, no)), run.get(vy, no), run.get(vdx, ni)};
}

std::string describe(const ref::FractionalPoolShape& s, Mode m) {
  return "x " + std::to_string(s.batch) + "x" + std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
         std::to_string(s.width) + " -> " + std::to_string(s.out_h) + "x" + std::to_string(s.out_w) +
         (s.overlapping ? " overlapping" : " disjoint") + ", mode " + std::to_string(int(m));
}

// Ratios near 1 (33 -> 32) and exactly 2 (26 -> 13), odd sides, a 2 -> 1
// side, a tall 3001-row plane (a 2001-step boundary loop).
const ref::FractionalPoolShape kShapes[] = {
    {2, 3, 13, 11, 9, 7, false},   {3, 5, 25, 17, 17, 12, true}, {1, 17, 33, 26, 32, 13, false},
    {2, 1, 26, 9, 13, 5, true},    {1, 3, 2, 7, 1, 4, false},    {5, 31, 7, 7, 5, 4, true},
    {1, 2, 3001, 5, 2001, 3, false},
};
const Mode kModes[] = {Mode::Evaluation, Mode::PseudoRandom, Mode::Random};

}  // namespace

TEST_CASE("fractional max pooling regions, forward and backward match the reference", "[fractional_pool]") {
  uint64_t seed = 5;
  uint32_t step = 0;
  for (const auto& s : kShapes)
    for (Mode mode : kModes) {
      ++seed, step += 7;
      INFO(describe(s, mode));
      const auto x = random_floats(in_count(s), seed), dy = random_floats(out_count(s), seed + 1);
      const FracResult r = run_frac(s, mode, step, x, dy);
      const auto regions = ref::fractional_regions(s, ref_mode(mode), kSeed, kStream, step);
      REQUIRE(r.regions == regions);
      // Every sequence starts at 0, steps by 1 or 2 and ends at the last row
      // (overlapping) or past it (disjoint).
      const uint32_t o = s.overlapping ? 1 : 0;
      for (uint64_t p = 0; p < uint64_t(s.batch) * s.channels; ++p) {
        const uint32_t* a = &r.regions[p * (s.out_h + s.out_w + 2)];
        for (auto [seq, m, end] : {std::tuple{a, s.out_h, s.height - o}, std::tuple{a + s.out_h + 1, s.out_w, s.width - o}}) {
          REQUIRE(seq[0] == 0);
          REQUIRE(seq[m] == end);
          for (uint32_t i = 0; i < m; ++i) REQUIRE((seq[i + 1] - seq[i] == 1 || seq[i + 1] - seq[i] == 2));
        }
      }
      const ref::FractionalMaxPool want = ref::fractional_maxpool_forward(s, regions, ref::widen(x));
      check_close(r.y, want.y, 0, 0, "y");
      REQUIRE(r.arg == want.argmax);
      check_close(r.dx, ref::fractional_maxpool_backward(s, want.argmax, ref::widen(dy)), 1e-6, 1e-6, "dx");
    }
}

TEST_CASE("fractional max pooling backward equals finite differences for fixed regions",
          "[fractional_pool][gradient]") {
  uint64_t seed = 50;
  for (const auto& s : {kShapes[0], kShapes[1], kShapes[3], kShapes[5]})
    for (Mode mode : {Mode::PseudoRandom, Mode::Random}) {
      INFO(describe(s, mode));
      const auto x = distinct_floats(in_count(s), ++seed), dy = random_floats(out_count(s), seed + 1);
      const FracResult r = run_frac(s, mode, 3, x, dy);
      auto loss = [&](const ref::Tensor& v) {
        return weighted_sum(ref::fractional_maxpool_forward(s, r.regions, v).y, dy);
      };
      check_finite_differences(r.dx, ref::widen(x), loss, 0.1 / double(in_count(s)), 300, 1e-6, 1e-6, "dx");
    }
}

TEST_CASE("fractional max pooling regions: 2-increments at the rate u or the arrangement implies",
          "[fractional_pool][statistics]") {
  // 25 -> 15: alpha = 5/3, so 10 of the 15 row increments are 2. Over 3,000
  // planes: random mode puts a 2 at each position with probability 2/3;
  // pseudo-random mode with the rate of a uniform u, counted over all 2^20
  // values of U. The evaluation regions are the same for every plane and step.
  const ref::FractionalPoolShape s{30, 100, 25, 19, 15, 12, false};
  const auto x = random_floats(in_count(s), 60), dy = random_floats(out_count(s), 61);
  const uint64_t planes = uint64_t(s.batch) * s.channels, words = s.out_h + s.out_w + 2;
  for (Mode mode : {Mode::PseudoRandom, Mode::Random}) {
    const FracResult r = run_frac(s, mode, 1, x, dy);
    for (uint32_t i : {0u, 7u, 14u}) {
      double expected = 10.0 / 15.0;
      if (mode == Mode::PseudoRandom) {
        uint64_t twos = 0;
        for (uint32_t U = 0; U < (1u << 20); ++U) {
          const auto a = ref::pseudo_random_boundaries(s.height, s.out_h, U);
          twos += a[i + 1] - a[i] == 2;
        }
        expected = double(twos) / double(1u << 20);
      }
      std::vector<double> two(planes);
      for (uint64_t p = 0; p < planes; ++p) two[p] = r.regions[p * words + i + 1] - r.regions[p * words + i] == 2;
      check_expectation(two, expected, "position " + std::to_string(i) + ", mode " + std::to_string(int(mode)));
    }
  }
  const FracResult e1 = run_frac(s, Mode::Evaluation, 1, x, dy), e2 = run_frac(s, Mode::Evaluation, 900, x, dy);
  CHECK(e1.y == e2.y);
  for (uint64_t p = 1; p < planes; ++p)
    REQUIRE(std::equal(e1.regions.begin(), e1.regions.begin() + words, e1.regions.begin() + p * words));
}

TEST_CASE("fractional max pooling: the same step draws the same regions, another step others",
          "[fractional_pool]") {
  const ref::FractionalPoolShape s{4, 6, 17, 15, 11, 9, true};
  const auto x = random_floats(in_count(s), 70), dy = random_floats(out_count(s), 71);
  for (Mode mode : {Mode::PseudoRandom, Mode::Random}) {
    const FracResult a = run_frac(s, mode, 5, x, dy), b = run_frac(s, mode, 5, x, dy), c = run_frac(s, mode, 6, x, dy);
    CHECK(a.regions == b.regions);
    CHECK(a.y == b.y);
    CHECK(a.dx == b.dx);
    CHECK(a.regions != c.regions);
  }
}

TEST_CASE("fractional max pooling rejects ratios outside 1 to 2 and small views", "[fractional_pool][errors]") {
  OpRun run;
  auto a = run.tensor("a", 4096), small = run.tensor("small", 3);
  run.commit();
  auto& p = run.program();
  auto forward = [&](const ops::FractionalPoolShape& s, const gpu::View& regions) {
    ops::record_fractional_maxpool_forward(p, s, Mode::Random, 0, a, regions, a, a, "fmp");
  };
  CHECK_THROWS_WITH(forward({1, 1, 10, 10, 10, 7, false}, a), Catch::Contains("fmp: reduction ratio 10/10 is outside (1, 2]"));
  CHECK_THROWS_WITH(forward({1, 1, 10, 10, 6, 4, false}, a), Catch::Contains("fmp: reduction ratio 10/4 is outside (1, 2]"));
  CHECK_THROWS_WITH(forward({1, 1, 10, 10, 0, 7, false}, a), Catch::Contains("fmp: empty input or output"));
  CHECK_THROWS_WITH(forward({1, 1, 10, 10, 7, 7, false}, small), Catch::Contains("fmp (regions): view small holds 3 values, needs 16"));
  CHECK(p.dispatches().empty());
}

}  // namespace fovea::test
