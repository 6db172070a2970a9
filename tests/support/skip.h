// Skips ctest counts as skips, never as passes. Catch2 2.13 has no SKIP
// macro: a skipped case prints its reason and bumps a count; the runners'
// main (tests/cpu/main.cpp, tests/gpu/main.cpp) ends a passing run that
// skipped anything with the line FOVEA_TEST_SKIPPED, which the discovered
// tests' SKIP_REGULAR_EXPRESSION turns into a ctest skip.
//   FOVEA_SKIP_DEPENDENCY(reason): something tools/install-deps.sh installs
//     is missing; with FOVEA_REQUIRE_ALL=1 (.ci/run) that is a failure.
//   FOVEA_SKIP_HARDWARE(reason): the device lacks a feature (or FOVEA_FAST
//     selects a mode the case cannot test); always a skip.
// Both return from the test case.
#pragma once
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

namespace fovea::test {

// Records a skip; false when FOVEA_REQUIRE_ALL=1 forbids it (a dependency).
bool record_skip(const std::string& reason, bool dependency);
// Skips recorded in this process.
int skips_recorded();
// The runners' end: prints FOVEA_TEST_SKIPPED when result is 0 and a case
// was skipped; returns result.
int report_skips(int result);

}  // namespace fovea::test

#define FOVEA_SKIP_IMPL(reason, dependency)                                              \
  do {                                                                                   \
    std::ostringstream fovea_skip_os;                                                    \
    fovea_skip_os << reason;                                                             \
    if (!fovea::test::record_skip(fovea_skip_os.str(), dependency))                      \
      FAIL("FOVEA_REQUIRE_ALL=1 and a dependency is missing: " << fovea_skip_os.str());  \
    return;                                                                              \
  } while (0)
#define FOVEA_SKIP_DEPENDENCY(reason) FOVEA_SKIP_IMPL(reason, true)
#define FOVEA_SKIP_HARDWARE(reason) FOVEA_SKIP_IMPL(reason, false)
