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

TEST_CASE("a host exchange mark splits a program into parts, each replayed as a step of its own", "[recorder]") {
  test::OpRun run;
  auto x = run.tensor("x", 1000), y = run.tensor("y", 1000), z = run.tensor("z", 1000);
  run.commit();
  run.set(x, test::random_floats(1000, 4));
  gpu::Program& p = run.program();
  ops::record_relu_forward(p, 1000, x, y, "y=relu(x)");
  p.mark_host_exchange(y, 7, 3);
  ops::record_relu_forward(p, 1000, y, z, "z=relu(y)");  // RAW on y, across the mark
  REQUIRE(p.part_count() == 2);
  REQUIRE(p.marks().size() == 1);
  CHECK(p.marks()[0].tag == 7);
  CHECK(p.marks()[0].value == 3);
  const gpu::Program::Part a = p.part(0), b = p.part(1);
  CHECK((a.first == 0 && a.end == 1 && b.first == 1 && b.end == 2));
  CHECK(a.name == p.name());
  CHECK(b.name == p.name() + ".1");
  // Part 1 starts after a full barrier: no barrier of its own for y.
  const auto plans = p.barrier_plans(0);
  REQUIRE(plans.size() == 2);
  CHECK(plans[1].empty());
  REQUIRE(p.part_host_reads(0).size() == 1);
  CHECK(p.part_host_reads(0)[0].range(0) == y.range(0));
  {
    gpu::Replayer first(p, 1, false, 0), second(p, 1, false, 1);
    CHECK(first.dispatch_count() == 1);
    CHECK(second.dispatch_count() == 1);
    first.submit(first.acquire());
    first.finish();
    second.submit(second.acquire());
    second.finish();
  }
  CHECK(test::validation_messages() == 0);
  const auto xv = run.get(x, 1000), zv = run.get(z, 1000);
  for (size_t i = 0; i < xv.size(); ++i) CHECK(zv[i] == std::max(xv[i], 0.0f));
}
