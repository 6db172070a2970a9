#!/usr/bin/env bash
# tools/study_sharpening end to end on a tiny budget (the MLP, 2 seeds, 600
# images, 2 epochs): every arm runs, the page holds a table row per arm with
# measured values, the verdict and the plot; a second invocation skips the
# finished runs and writes the same page; an unfinished run is redone.
# Usage: study_test.sh FOVEA_BINARY SOURCE_DIR
set -u
fovea=$1
src=$2
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/cli/skip.sh"
[ -d /usr/share/datasets/fashion-mnist ] || skip_test dep "/usr/share/datasets/fashion-mnist missing (dataset-fashion-mnist)"
args=(--fovea "$fovea" --seeds 2 --models mlp --epochs 2 --limit 600 --val-split 200 --out "$tmp/runs" --doc "$tmp/study.md")
"$py" "$src/tools/study_sharpening" "${args[@]}" >"$tmp/log1" 2>&1 || { cat "$tmp/log1"; exit 1; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
for arm in none step2 step3 cosine3 constant1; do
  grep -Eq "^\| $arm: .* \| 2 \| [0-9]+\.[0-9]+ ± [0-9]+\.[0-9]+ \|" "$tmp/study.md" || fail "no measured row for $arm"
done
grep -q "^In short, on clean test accuracy" "$tmp/study.md" || fail "no verdict"
grep -q "<polyline" "$tmp/study.svg" || fail "no curves in the plot"
grep -q "step3: 3, 0" "$tmp/study.md" || fail "blur sigmas per epoch missing"
cp "$tmp/study.md" "$tmp/first.md"
# Resume: nothing to run, the same page.
"$py" "$src/tools/study_sharpening" "${args[@]}" >"$tmp/log2" 2>&1 || { cat "$tmp/log2"; exit 1; }
[ "$(grep -c 'skipped' "$tmp/log2")" -eq 10 ] || fail "second invocation did not skip all 10 runs"
cmp -s "$tmp/first.md" "$tmp/study.md" || fail "the page changed on a resume with nothing to run"
# A run killed before its summary is trained again.
rm "$tmp/runs/mlp/cosine3/seed-1/summary.json"
"$py" "$src/tools/study_sharpening" "${args[@]}" >"$tmp/log3" 2>&1 || { cat "$tmp/log3"; exit 1; }
grep -q "cosine3 seed 1: running" "$tmp/log3" || fail "the unfinished run was not redone"
[ "$(grep -c 'skipped' "$tmp/log3")" -eq 9 ] || fail "the finished runs were not skipped"
[ "$fails" -eq 0 ] && echo "study script checks passed"
[ "$fails" -eq 0 ]
