// Learning-rate schedules: each decay's per-epoch sequence against its
// closed form, warm-up per step, SGDR restarts, reduce-on-plateau's
// patience and threshold, and errors naming the option.
#include <catch2/catch.hpp>

#include <cmath>

#include "optim/lr_schedule.h"
#include "util/error.h"

namespace fovea::train {

static LrConfig cfg(const std::string& kind, double lr = 0.1) {
  LrConfig c;
  c.schedule = kind;
  c.lr = lr;
  return c;
}

TEST_CASE("epoch decays follow their closed forms and hold within an epoch", "[lr]") {
  LrConfig st = cfg("step");
  st.step_size = 3;
  st.gamma = 0.5;
  LrConfig ms = cfg("multistep");
  ms.milestones = {2, 5};
  LrConfig ex = cfg("exponential");
  LrConfig it = cfg("inverse-time");
  it.decay = 0.5;
  LrConfig is = cfg("inverse-sqrt");
  is.decay = 2;
  const LrSchedule s(st, 10), m(ms, 10), x(ex, 10), i(it, 10), q(is, 10), k(cfg("constant"), 10);
  for (uint32_t e = 0; e < 10; ++e) {
    INFO("epoch " << e);
    CHECK(s.rate(e) == Approx(0.1 * std::pow(0.5, e / 3)));
    CHECK(s.rate(e + 0.7) == s.rate(e));
    CHECK(m.rate(e) == Approx(0.1 * std::pow(0.1, (e >= 2) + (e >= 5))));
    CHECK(x.rate(e) == Approx(0.1 * std::pow(0.9, e)));
    CHECK(i.rate(e) == Approx(0.1 / (1 + 0.5 * e)));
    CHECK(q.rate(e + 0.3) == Approx(0.1 / std::sqrt(1 + 2.0 * e)));
    CHECK(k.rate(e) == 0.1);
  }
}

TEST_CASE("cosine annealing spans the run; restarts lengthen by the multiplier", "[lr]") {
  LrConfig c = cfg("cosine");
  c.lr_min = 0.01;
  const LrSchedule plain(c, 8);
  for (uint32_t e = 0; e < 8; ++e)
    CHECK(plain.rate(e) == Approx(0.01 + 0.09 * (1 + std::cos(M_PI * e / 8)) / 2));
  c.restart = 2;
  c.restart_mult = 2;
  const LrSchedule sgdr(c, 14);
  // Cycles [0, 2), [2, 6), [6, 14).
  const double pos[] = {0, 1, 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7};
  const double len[] = {2, 2, 4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8};
  for (uint32_t e = 0; e < 14; ++e) {
    INFO("epoch " << e);
    CHECK(sgdr.rate(e) == Approx(0.01 + 0.09 * (1 + std::cos(M_PI * pos[e] / len[e])) / 2));
  }
}

TEST_CASE("warm-up rises per step, then the decay starts from its epoch 0", "[lr]") {
  LrConfig c = cfg("step");
  c.step_size = 1;
  c.gamma = 0.5;
  c.warmup_epochs = 2;
  c.warmup_start = 0.1;
  const LrSchedule lin(c, 6);
  CHECK(lin.rate(0) == Approx(0.01));
  CHECK(lin.rate(0.5) == Approx(0.1 * (0.1 + 0.9 * 0.25)));
  CHECK(lin.rate(1.5) == Approx(0.1 * (0.1 + 0.9 * 0.75)));
  CHECK(lin.rate(2) == Approx(0.1));
  CHECK(lin.rate(3.5) == Approx(0.05));
  CHECK(lin.rate(5) == Approx(0.0125));
  c.warmup = "exponential";
  const LrSchedule ex(c, 6);
  CHECK(ex.rate(0) == Approx(0.01));
  CHECK(ex.rate(1) == Approx(0.1 * std::pow(0.1, 0.5)));
  CHECK(ex.rate(2) == Approx(0.1));
}

TEST_CASE("reduce on plateau waits out its patience, then multiplies by gamma", "[lr]") {
  LrConfig c = cfg("plateau");
  c.patience = 2;
  c.gamma = 0.5;
  c.threshold = 0.1;
  c.lr_min = 0.02;
  LrSchedule s(c, 20);
  // 1.0 best; 0.95 is not 10 % better: bad 1, bad 2, bad 3 > patience -> 0.05.
  const double losses[] = {1.0, 0.95, 0.95, 0.95, 0.5, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49};
  const double want[] = {0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02};
  for (int e = 0; e < 12; ++e) {
    INFO("epoch " << e);
    CHECK(s.rate(e) == Approx(want[e]));
    s.end_epoch(losses[e]);
  }
}

TEST_CASE("bad schedule settings name the option", "[lr]") {
  auto bad = [](LrConfig c) { return LrSchedule(c, 10); };
  LrConfig c = cfg("warmish");
  CHECK_THROWS_WITH(bad(c), Catch::Contains("--lr-schedule") && Catch::Contains("warmish"));
  c = cfg("multistep");
  CHECK_THROWS_WITH(bad(c), Catch::Contains("--lr-milestones"));
  c.milestones = {5, 3};
  CHECK_THROWS_WITH(bad(c), Catch::Contains("must increase"));
  c = cfg("step");
  c.gamma = 1.5;
  CHECK_THROWS_WITH(bad(c), Catch::Contains("--lr-gamma"));
  c = cfg("cosine");
  c.lr_min = 1;
  CHECK_THROWS_WITH(bad(c), Catch::Contains("--lr-min"));
  c = cfg("constant");
  c.warmup = "cubic";
  CHECK_THROWS_WITH(bad(c), Catch::Contains("--warmup"));
  c = cfg("constant");
  c.warmup_start = 0;
  CHECK_THROWS_WITH(bad(c), Catch::Contains("--warmup-start"));
}

}  // namespace fovea::train
