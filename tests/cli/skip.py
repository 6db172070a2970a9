"""Skips ctest counts (SKIP_RETURN_CODE 77) for the Python test scripts; the
rules of tests/cli/skip.sh: a missing dependency that tools/install-deps.sh
installs fails under FOVEA_REQUIRE_ALL=1 (.ci/run)."""
import os
import sys


def skip_test(reason, dependency=True):
    if dependency and os.environ.get("FOVEA_REQUIRE_ALL") == "1":
        print(f"FAIL: {reason} (FOVEA_REQUIRE_ALL=1: tools/install-deps.sh installs it, so it may not be skipped)")
        sys.exit(1)
    print(f"skipped: {reason}")
    sys.exit(77)
