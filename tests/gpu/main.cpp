// GPU test runner: Catch2's session, then a check that the validation layer
// (always enabled by the harness) reported nothing. Any message fails the
// test process. A passing run that skipped a case ends with the skip line
// ctest reads (tests/support/skip.h).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>

#include "gpu/harness.h"
#include "support/skip.h"

int main(int argc, char** argv) {
  int result = Catch::Session().run(argc, argv);
  const uint64_t n = fovea::test::validation_messages();
  fovea::test::release_context();
  if (n > 0) {
    std::fprintf(stderr, "FAILED: the Vulkan validation layer reported %llu message(s)\n",
                 (unsigned long long)n);
    return result ? result : 1;
  }
  return fovea::test::report_skips(result);
}
