// CPU test runner: Catch2's session, then the skip line ctest reads
// (tests/support/skip.h).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "support/skip.h"

int main(int argc, char** argv) { return fovea::test::report_skips(Catch::Session().run(argc, argv)); }
