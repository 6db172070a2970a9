#include "support/skip.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fovea::test {
namespace {
int g_skips = 0;
}

bool record_skip(const std::string& reason, bool dependency) {
  const char* all = std::getenv("FOVEA_REQUIRE_ALL");
  if (dependency && all && std::strcmp(all, "1") == 0) return false;
  std::printf("skipped: %s\n", reason.c_str());
  std::fflush(stdout);
  ++g_skips;
  return true;
}

int skips_recorded() { return g_skips; }

int report_skips(int result) {
  if (result == 0 && g_skips > 0) {
    std::printf("FOVEA_TEST_SKIPPED: %d test case(s) skipped\n", g_skips);
    std::fflush(stdout);
  }
  return result;
}

}  // namespace fovea::test
