// The sharpening schedules: each one's sigma sequence against its formula,
// the example (step, sigma0 3, 3 levels over 3 of 4 epochs gives
// 3, 2, 1, 0 at the epoch starts), the defaults for --sharpen-epochs, the
// list syntax, and the errors for bad values.
#include <catch2/catch.hpp>

#include <cmath>

#include "data/sharpening.h"
#include "util/error.h"

namespace fovea::data {

static SharpenSchedule make(const std::string& kind, double sigma0, int64_t epochs_n, uint32_t levels,
                            uint32_t run_epochs) {
  SharpenConfig c;
  c.schedule = kind;
  c.sigma0 = sigma0;
  c.sharpen_epochs = epochs_n;
  c.levels = levels;
  return SharpenSchedule(c, run_epochs);
}

TEST_CASE("step sigma0 3, 3 levels over 3 of 4 epochs gives 3, 2, 1, 0", "[sharpening]") {
  auto s = make("step", 3, 3, 3, 4);
  CHECK(s.sigma(0) == 3);
  CHECK(s.sigma(1) == 2);
  CHECK(s.sigma(2) == 1);
  CHECK(s.sigma(3) == 0);
  CHECK(s.sigma(0.999) == 3);  // held for the whole epoch
  CHECK(s.sigma(2.5) == 1);
  CHECK(s.sigma(10) == 0);
}

TEST_CASE("step levels of fractional length follow sigma0 (1 - k/K)", "[sharpening]") {
  auto s = make("step", 2, -1, 4, 8);  // N = 6 epochs: each level 1.5 epochs
  CHECK(s.span() == 6);
  // Positions 0.5, 1.5, ..., 7.5 fall in levels 0, 1, 1, 2, 3, 3, then past N.
  const double want[] = {2, 1.5, 1.5, 1.0, 0.5, 0.5, 0, 0};
  for (int e = 0; e < 8; ++e) {
    INFO("position " << e + 0.5);
    CHECK(s.sigma(e + 0.5) == want[e]);
  }
}

TEST_CASE("smooth schedules fall from sigma0 to 0 over N epochs", "[sharpening]") {
  const double N = 4;
  for (double t : {0.0, 0.3, 1.0, 2.2, 3.9, 4.0, 5.0}) {
    INFO("t " << t);
    const double u = t / N, a = std::log(100.0);
    const double lin = t < N ? 3 * (1 - u) : 0;
    const double cosv = t < N ? 3 * 0.5 * (1 + std::cos(M_PI * u)) : 0;
    const double expv = t < N ? 3 * (std::exp(-a * u) - std::exp(-a)) / (1 - std::exp(-a)) : 0;
    CHECK(make("linear", 3, 4, 4, 6).sigma(t) == Approx(lin).margin(1e-12));
    CHECK(make("cosine", 3, 4, 4, 6).sigma(t) == Approx(cosv).margin(1e-12));
    CHECK(make("exponential", 3, 4, 4, 6).sigma(t) == Approx(expv).margin(1e-12));
  }
  auto e = make("exponential", 3, 4, 4, 6);
  CHECK(e.sigma(0) == Approx(3));
  CHECK(e.sigma(3.999) < 0.01);
  CHECK(e.sigma(3.999) > 0);
}

TEST_CASE("constant blurs the whole run by default, none never", "[sharpening]") {
  auto c = make("constant", 1.5, -1, 4, 5);
  CHECK(c.span() == 5);
  CHECK(c.sigma(0) == 1.5);
  CHECK(c.sigma(4.99) == 1.5);
  CHECK(c.sigma(5) == 0);
  CHECK(make("constant", 1.5, 2, 4, 5).sigma(2.5) == 0);
  auto n = make("none", 3, -1, 4, 5);
  CHECK_FALSE(n.active());
  CHECK(n.sigma(0) == 0);
  // Default N is 3/4 of the epochs rounded down, at least 1.
  CHECK(make("cosine", 2, -1, 4, 10).span() == 7);
  CHECK(make("cosine", 2, -1, 4, 1).span() == 1);
}

TEST_CASE("list schedules hold each sigma for its epochs, then 0", "[sharpening]") {
  auto a = make("list:3,2,1,0@2", 0, -1, 4, 10);
  CHECK(a.span() == 8);
  CHECK(a.sigma(0) == 3);
  CHECK(a.sigma(1.9) == 3);
  CHECK(a.sigma(2) == 2);
  CHECK(a.sigma(5.5) == 1);
  CHECK(a.sigma(6) == 0);
  CHECK(a.sigma(9) == 0);
  auto b = make("list:4@1,2,1.5@0.5,1", 0, -1, 4, 10);  // 4 for 1, 2 and 1.5 for 0.5, 1 for 1
  CHECK(b.sigma(0.5) == 4);
  CHECK(b.sigma(1.2) == 2);
  CHECK(b.sigma(1.6) == 1.5);
  CHECK(b.sigma(2.5) == 1);
  CHECK(b.sigma(3) == 0);
}

TEST_CASE("bad schedules name the option and the value", "[sharpening]") {
  CHECK_THROWS_WITH(make("blurry", 2, -1, 4, 4), Catch::Contains("--sharpen") && Catch::Contains("blurry"));
  CHECK_THROWS_WITH(make("step", -1, -1, 4, 4), Catch::Contains("--sigma0"));
  CHECK_THROWS_WITH(make("step", 50, -1, 4, 4), Catch::Contains("--sigma0"));
  CHECK_THROWS_WITH(make("step", std::nan(""), -1, 4, 4), Catch::Contains("--sigma0"));
  CHECK_THROWS_WITH(make("step", 2, 0, 4, 4), Catch::Contains("--sharpen-epochs"));
  CHECK_THROWS_WITH(make("step", 2, -1, 0, 4), Catch::Contains("--levels"));
  CHECK_THROWS_WITH(make("list:", 0, -1, 4, 4), Catch::Contains("empty"));
  CHECK_THROWS_WITH(make("list:3,x", 0, -1, 4, 4), Catch::Contains("'x'"));
  CHECK_THROWS_WITH(make("list:3@0", 0, -1, 4, 4), Catch::Contains("positive"));
  CHECK_THROWS_WITH(make("list:3,", 0, -1, 4, 4), Catch::Contains("empty item"));
  CHECK_THROWS_WITH(make("list:30", 0, -1, 4, 4), Catch::Contains("sigma"));
}

}  // namespace fovea::data
