#!/usr/bin/env bash
# `fovea cv`: a tiny stratified 3-fold run under the validation layer
# (cv.jsonl's split lines, its summary equal to their mean and sample std,
# the stdout table, a run directory per split), --config, and refused
# settings: one clear line, exit code, no directory left behind.
# Usage: cv_test.sh FOVEA_BINARY SOURCE_DIR
source "$(dirname "$0")/common.sh" "$@"
model="$src/assets/models/mlp.json"

# A validated run: 300 images in 3 stratified folds of 100.
"$fovea" cv --model "$model" --protocol stratified-kfold --folds 3 --limit 300 --epochs 1 --lr 0.05 \
  --validate --no-progress --out "$tmp/cv" >"$tmp/out" 2>"$tmp/err"
code=$?
[ "$code" -eq 0 ] || fail "cv run exited $code: $(cat "$tmp/err")"
grep -q "validation: no messages" "$tmp/err" || fail "validation layer: $(cat "$tmp/err")"
"$py" - "$tmp/cv" <<'PY' || fail "cv.jsonl checks"
import json, math, os, statistics, sys
d = sys.argv[1]
lines = [json.loads(l) for l in open(os.path.join(d, "cv.jsonl"))]
assert len(lines) == 4, f"{len(lines)} lines, want 3 splits + summary"
splits, summary = lines[:3], lines[3]["summary"]
assert [s["split"] for s in splits] == [0, 1, 2]
assert [s["fold"] for s in splits] == [0, 1, 2]
for s in splits:
    assert s["train_images"] == 200 and s["val_images"] == 100, s
    assert s["epochs_run"] == 1, s
    assert 0 < s["val_acc"] < 1 and 0 < s["test_acc"] < 1, s
    run = json.load(open(os.path.join(d, s["dir"], "summary.json")))
    assert abs(run["test_acc"] - s["test_acc"]) < 1e-12, (run["test_acc"], s)
    assert run["train_images"] == 200 and run["val_images"] == 100, run
    m = [json.loads(l) for l in open(os.path.join(d, s["dir"], "metrics.jsonl"))]
    assert abs(m[-1]["val_acc"] - s["val_acc"]) < 1e-12
    assert os.path.getsize(os.path.join(d, s["dir"], "model.safetensors")) > 0
# Folds differ, so the three validation scores are not all one number.
assert len({s["val_loss"] for s in splits}) == 3
assert summary["splits"] == 3 and summary["protocol"] == "stratified-kfold" and summary["folds"] == 3
for k in ("val_acc", "val_loss", "test_acc", "test_loss"):
    v = [s[k] for s in splits]
    assert abs(summary[k]["mean"] - sum(v) / 3) < 1e-12, (k, summary[k], v)
    assert abs(summary[k]["std"] - statistics.stdev(v)) < 1e-12, (k, summary[k], v)
PY
# The table: a header, a row per split, the mean and std rows, the ± line.
[ "$(grep -cE '^ +[0-2] +0 +[0-2] +200 +100 +1 ' "$tmp/out")" -eq 3 ] || fail "table rows: $(cat "$tmp/out")"
grep -qE '^split +repeat +fold' "$tmp/out" || fail "table header"
grep -qE '^mean ' "$tmp/out" && grep -qE '^std \(sample, n-1\) ' "$tmp/out" || fail "mean/std rows"
want=$("$py" -c "import json; s=[json.loads(l) for l in open('$tmp/cv/cv.jsonl')][-1]['summary']['val_acc']; print('val_acc %.4f ± %.4f' % (s['mean'], s['std']))")
grep -qF "$want" "$tmp/out" || fail "stdout lacks '$want'"
# The same directory again is refused.
"$fovea" cv --model "$model" --protocol kfold --limit 300 --out "$tmp/cv" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "already holds a run" "$tmp/err" || fail "reused --out: $(cat "$tmp/err")"

# Refused settings: exit code, one line naming the option, no directory.
refused() {  # WANT_CODE PATTERN ARGS...
  local want=$1 pattern=$2
  shift 2
  rm -rf "$tmp/bad"
  "$fovea" cv --model "$model" --limit 300 --no-progress --out "$tmp/bad" "$@" >"$tmp/out" 2>"$tmp/err"
  local code=$?
  [ "$code" -eq "$want" ] || fail "$* exited $code, want $want"
  [ "$(grep -c '' "$tmp/err")" -eq 1 ] && grep -qE -- "$pattern" "$tmp/err" || fail "$*: stderr $(cat "$tmp/err")"
  [ -e "$tmp/bad" ] && fail "$* left a directory"
}
refused 1 "unknown protocol 'kfolds'.*stratified-kfold" --protocol kfolds
refused 1 "leave-p-out with n=300, p=2 gives 44850 splits; pass --max-splits" --protocol leave-p-out --p 2
refused 1 "--folds does not apply to --protocol holdout" --protocol holdout --folds 3
refused 1 "--p does not apply to --protocol kfold" --protocol kfold --p 2
refused 1 "--val-split does not apply to --protocol stratified-kfold" --protocol stratified-kfold --val-split 0.2
refused 1 "--folds 301 is more than the 300 images" --protocol kfold --folds 301
refused 1 "--max-splits 5000 is more than 1000" --protocol leave-p-out --p 2 --max-splits 5000
refused 1 "--epochs must be at least 1" --protocol kfold --epochs 0
refused 2 "--protocol is required"
refused 2 "--folds" --protocol kfold --folds two
printf '{"model": "%s", "protocol": "kfold", "fold": 3}' "$model" >"$tmp/bad.json"
refused 1 "run config .*bad.json: unknown option 'fold' \(see fovea cv --help\)" --config "$tmp/bad.json"

# --config feeds cv's own options; the command line overrides it. A sampled
# leave-p-out (C(300, 2) = 44850 > 1000) runs 2 distinct 2-subsets.
printf '{"model": "%s", "protocol": "leave-p-out", "p": 3, "max-splits": 2, "epochs": 1}' "$model" >"$tmp/lpo.json"
"$fovea" cv --config "$tmp/lpo.json" --p 2 --limit 300 --no-progress --out "$tmp/lpo" >"$tmp/out" 2>"$tmp/err" ||
  fail "leave-p-out run: $(cat "$tmp/err")"
"$py" - "$tmp/lpo/cv.jsonl" <<'PY' || fail "leave-p-out cv.jsonl"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 3, lines
assert all(l["val_images"] == 2 and l["train_images"] == 298 for l in lines[:2]), lines
assert lines[2]["summary"]["p"] == 2 and lines[2]["summary"]["max_splits"] == 2, lines[2]
PY
[ "$fails" -eq 0 ] && echo "cross-validation checks passed"
[ "$fails" -eq 0 ]
