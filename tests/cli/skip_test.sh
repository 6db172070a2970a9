#!/usr/bin/env bash
# Skips are counted as skips, never as passes: the shell helpers of
# tests/cli/skip.sh and the Catch2 macros of tests/support/skip.h exit 77
# (or print FOVEA_TEST_SKIPPED, ctest's SKIP_REGULAR_EXPRESSION), and with
# FOVEA_REQUIRE_ALL=1 a skip for a missing dependency fails.
# Usage: skip_test.sh FOVEA_TESTS_CPU SOURCE_DIR
set -u
cpu=$1
src=$2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# want CODE REQUIRE_ALL SHELL-CODE: the code run after sourcing skip.sh exits CODE.
want() {
  local code=$1 all=$2
  shift 2
  FOVEA_REQUIRE_ALL=$all bash -c ". '$src/tests/cli/skip.sh'; $*" >/dev/null
  local got=$?
  [ "$got" -eq "$code" ] || fail "FOVEA_REQUIRE_ALL=$all '$*': exit $got, want $code"
}
want 77 0 'skip_test dep "a missing dependency"'
want 1 1 'skip_test dep "a missing dependency"'
want 77 1 'skip_test hw "a missing device feature"'
want 77 0 'skip_part dep "one part"; fails=0; finish_test'
want 1 1 'skip_part dep "one part"; fails=0; finish_test'
want 77 1 'skip_part hw "one part"; fails=0; finish_test'
want 1 0 'skip_part hw "one part"; fails=1; finish_test'
want 0 1 'fails=0; finish_test'

# catch CODE SKIPPED REQUIRE_ALL CASE: the case's run exits CODE; its output
# holds FOVEA_TEST_SKIPPED exactly when SKIPPED is 1.
catch() {
  local code=$1 skipped=$2 all=$3 name=$4 out got
  out=$(FOVEA_REQUIRE_ALL=$all "$cpu" "$name" 2>&1)
  got=$?
  [ "$got" -eq "$code" ] || fail "FOVEA_REQUIRE_ALL=$all '$name': exit $got, want $code: $out"
  if grep -q FOVEA_TEST_SKIPPED <<<"$out"; then s=1; else s=0; fi
  [ "$s" -eq "$skipped" ] || fail "FOVEA_REQUIRE_ALL=$all '$name': FOVEA_TEST_SKIPPED printed: $s, want $skipped: $out"
}
catch 0 1 0 "skip: a missing dependency"
catch 1 0 1 "skip: a missing dependency"
catch 0 1 1 "skip: a missing device feature"
catch 0 0 1 "skip: a case that runs"
# No script may pass by skipping: no `exit 0` after a "skipped" line.
if grep -n -A2 "skipped" "$src"/tests/cli/*.sh | grep -E "^\S+-[0-9]+-\s*exit 0"; then
  fail "a test script exits 0 after a skip"
fi
[ "$fails" -eq 0 ] && echo "skips: all checks passed"
[ "$fails" -eq 0 ]
