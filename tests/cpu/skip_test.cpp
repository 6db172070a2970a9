// The skip macros themselves (tests/support/skip.h), run by "cli: skips are
// counted as skips" through these hidden cases: a skipped case ends a
// passing run with FOVEA_TEST_SKIPPED, which ctest reads as a skip, and
// FOVEA_REQUIRE_ALL=1 turns a dependency's skip into a failure.
#include <catch2/catch.hpp>

#include "support/skip.h"

TEST_CASE("skip: a missing dependency", "[.skip-check]") {
  CHECK(1 + 1 == 2);
  FOVEA_SKIP_DEPENDENCY("a dependency of the skip check (on purpose)");
}

TEST_CASE("skip: a missing device feature", "[.skip-check]") {
  FOVEA_SKIP_HARDWARE("a device feature of the skip check (on purpose)");
}

TEST_CASE("skip: a case that runs", "[.skip-check]") { CHECK(fovea::test::skips_recorded() >= 0); }
