# Skips ctest counts as skips (SKIP_RETURN_CODE 77, set on every `cli:` test
# in tests/CMakeLists.txt), never as passes. Sourced by the CLI test scripts.
#   skip_test dep|hw REASON   the script cannot run at all: exit 77
#   skip_part dep|hw REASON   one part cannot run; finish_test then exits 77
#   finish_test               exit 1 on failures ($fails), 77 after a skipped
#                             part, else 0
# dep: something tools/install-deps.sh installs is missing; with
# FOVEA_REQUIRE_ALL=1 (.ci/run) that is a failure (exit 1). hw: the machine
# lacks a device feature; always a skip.
# Every `fovea` a script runs validates: FOVEA_VALIDATION=1 (as ctest sets it
# for every `cli:` test) turns on the validation layer with synchronisation
# validation, and any message makes the command exit 3. A script may set
# FOVEA_VALIDATION=0 for one command whose figures validation would distort.
export FOVEA_VALIDATION=${FOVEA_VALIDATION-1}
skipped_parts=0
skip_forbidden() {  # skip_forbidden KIND REASON: exits 1 when REQUIRE_ALL forbids it
  if [ "$1" = dep ] && [ "${FOVEA_REQUIRE_ALL:-0}" = 1 ]; then
    echo "FAIL: $2 (FOVEA_REQUIRE_ALL=1: tools/install-deps.sh installs it, so it may not be skipped)"
    exit 1
  fi
}
skip_test() {
  skip_forbidden "$1" "$2"
  echo "skipped: $2"
  exit 77
}
skip_part() {
  skip_forbidden "$1" "$2"
  echo "skipped: $2"
  skipped_parts=$((skipped_parts + 1))
}
finish_test() {
  [ "${fails:-0}" -eq 0 ] || exit 1
  if [ "$skipped_parts" -gt 0 ]; then
    echo "passed what ran; $skipped_parts part(s) skipped"
    exit 77
  fi
  exit 0
}
