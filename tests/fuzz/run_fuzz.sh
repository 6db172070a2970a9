#!/usr/bin/env bash
# One libFuzzer target for a fixed number of inputs from its seed corpus:
# new inputs go to a temporary folder (the corpus in the tree is only read);
# a finding is written to ARTIFACTS/<target>-crash-* and fails the test.
# Prints the inputs run and the seconds taken (docs/reliability.md).
# Usage: run_fuzz.sh FUZZ_BINARY CORPUS_DIR RUNS ARTIFACTS_DIR
set -u
bin=$1 corpus=$2 runs=$3 artifacts=$4
[ -d "$corpus" ] || { echo "FAIL: no seed corpus at $corpus"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$artifacts"
name=$(basename "$bin")
start=$(date +%s.%N)
# -seed fixed: the same inputs on every run; 2 GiB for RSS and any one
# allocation (a size read from the input must be checked before it is used).
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$bin" -runs="$runs" -seed=1 -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$artifacts/$name-" "$tmp" "$corpus" >"$tmp.log" 2>&1
code=$?
end=$(date +%s.%N)
if [ "$code" -ne 0 ]; then
  tail -60 "$tmp.log"
  echo "FAIL: $name exited $code; the input is in $artifacts/"
  rm -f "$tmp.log"
  exit 1
fi
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$tmp.log"
rm -f "$tmp.log"
printf '%s: %s inputs from %s seed files, %.1f s\n' "$name" "$runs" "$(ls "$corpus" | wc -l)" "$(echo "$end - $start" | bc)"
