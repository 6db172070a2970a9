// The recorder on a real device: barriers go exactly where a hazard is, the
// recorded step passes synchronisation validation, and without barriers the
// same step does not (so the validation check can fail).
#include <catch2/catch.hpp>

#include "gpu/harness.h"
#include "ops/activation.h"
#include "ops/dense.h"

using namespace fovea;

TEST_CASE("recorder places barriers only on real hazards", "[recorder]") {
  test::OpRun run;
  auto a = run.tensor("a", 17 * 9), b = run.tensor("b", 9 * 5);
  auto c = run.tensor("c", 17 * 5), d = run.tensor("d", 17 * 5), e = run.tensor("e", 17 * 5);
  run.commit();
  ops::GemmShape g{17, 5, 9, 9, 1, 5, 1, 5};
  auto& p = run.program();
  ops::record_gemm(p, g, a, b, {}, c, "c=a*b");
  ops::record_gemm(p, g, a, b, {}, d, "d=a*b");      // independent of the first
  ops::record_relu_forward(p, 9 * 5, d, b, "b=relu(d)");     // RAW on d, and WAR: b was read above
  ops::record_relu_forward(p, 17 * 5, c, e, "e=relu(c)");  // RAW on c (only d was flushed)
  auto plans = p.barrier_plans(0);
  REQUIRE(plans.size() == 4);
  CHECK(plans[0].empty());
  CHECK(plans[1].empty());
  REQUIRE(plans[2].execution);
  CHECK(plans[2].write_after_read);
  REQUIRE(plans[2].memory.size() == 1);
  CHECK(plans[2].memory[0].range == d.range(0));
  CHECK(plans[2].memory[0].to_read);
  CHECK_FALSE(plans[2].memory[0].to_write);
  CHECK_FALSE(plans[3].write_after_read);
  REQUIRE(plans[3].memory.size() == 1);
  CHECK(plans[3].memory[0].range == c.range(0));

  run.set(a, test::random_floats(17 * 9, 1));
  run.set(b, test::random_floats(9 * 5, 2));
  run.run();
  CHECK(test::validation_messages() == 0);
  auto cv = run.get(c, 17 * 5), ev = run.get(e, 17 * 5);
  auto dv = run.get(d, 17 * 5), bv = run.get(b, 9 * 5);
  for (size_t i = 0; i < cv.size(); ++i) CHECK(ev[i] == std::max(cv[i], 0.0f));
  for (size_t i = 0; i < bv.size(); ++i) CHECK(bv[i] == std::max(dv[i], 0.0f));
}

TEST_CASE("synchronisation validation reports a step recorded without barriers", "[recorder]") {
  auto& ctx = test::context();
  REQUIRE(ctx.validating());
  test::OpRun run;
  auto x = run.tensor("x", 1000), y = run.tensor("y", 1000), z = run.tensor("z", 1000);
  run.commit();
  run.set(x, test::random_floats(1000, 3));
  ops::record_relu_forward(run.program(), 1000, x, y, "y=relu(x)");
  ops::record_relu_forward(run.program(), 1000, y, z, "z=relu(y)");  // RAW on y
  run.program().omit_barriers_for_test = true;
  uint64_t before = ctx.validation().count();
  ctx.validation().quiet = true;
  run.run();
  ctx.validation().quiet = false;
  uint64_t provoked = ctx.validation().count() - before;
  CHECK(provoked > 0);
  // The provoked messages are this test's expected outcome, not a failure.
  ctx.validation().reset();
}
