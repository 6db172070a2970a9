#!/usr/bin/env bash
# Stopping rules: early stopping ends with the best epoch's weights (bit
# for bit those of a run stopped there by --epochs), a target accuracy stops
# the run, and a diverging run (huge learning rate) stops with one clear
# line, exit 1, stop_reason "diverged" and the last good weights on disk.
# Usage: stopping_test.sh FOVEA_BINARY SOURCE_DIR
set -u
fovea=$1
src=$2
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/cli/skip.sh"
[ -d /usr/share/datasets/fashion-mnist ] || skip_test dep "/usr/share/datasets/fashion-mnist missing (dataset-fashion-mnist)"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
field() { "$py" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
run() { "$fovea" train --model "$src/assets/models/mlp.json" --limit 600 --val-split 150 --lr 0.05 --no-progress "$@" >"$tmp/out" 2>"$tmp/err"; }

# Early stopping with a demanding delta: stops within 8 epochs, restores the best.
run --epochs 8 --early-stop 1 --early-stop-delta 0.05 --out "$tmp/es" || fail "early-stop run: $(cat "$tmp/err")"
reason=$(field "$tmp/es/summary.json" stop_reason)
best=$(field "$tmp/es/summary.json" best_epoch)
ran=$(field "$tmp/es/summary.json" epochs_run)
[ "$reason" = "early_stopping" ] || fail "stop_reason '$reason', want early_stopping"
[ "$best" -lt "$ran" ] || fail "best epoch $best is not before the last epoch run ($ran)"
run --epochs "$best" --out "$tmp/plain" || fail "plain run: $(cat "$tmp/err")"
cmp -s "$tmp/es/model.safetensors" "$tmp/plain/model.safetensors" ||
  fail "early stopping at best epoch $best did not keep that epoch's weights"
[ "$(field "$tmp/plain/summary.json" stop_reason)" = "max_epochs" ] || fail "plain run's stop_reason"

# Target accuracy.
run --epochs 20 --target-acc 0.5 --out "$tmp/target" || fail "target run: $(cat "$tmp/err")"
[ "$(field "$tmp/target/summary.json" stop_reason)" = "target_accuracy" ] || fail "target stop_reason"
[ "$(field "$tmp/target/summary.json" epochs_run)" -lt 20 ] || fail "target run did not stop early"

# Divergence from known weights: they come back unchanged.
"$fovea" train --model "$src/assets/models/mlp.json" --limit 600 --val-split 150 --lr 1e6 --epochs 3 \
  --init "$tmp/plain/model.safetensors" --no-progress --out "$tmp/div" >"$tmp/out" 2>"$tmp/err"
code=$?
[ "$code" -eq 1 ] || fail "diverging run exited $code, want 1"
[ "$(grep -c '' "$tmp/err")" -eq 1 ] && grep -q "diverged.*initial weights" "$tmp/err" || fail "diverging run's stderr: $(cat "$tmp/err")"
[ "$(field "$tmp/div/summary.json" stop_reason)" = "diverged" ] || fail "diverged stop_reason"
cmp -s "$tmp/div/model.safetensors" "$tmp/plain/model.safetensors" || fail "a diverged run did not keep its last good weights"

# NaN made inside the last step, which no loss has seen: Adagrad with --eps 0
# divides the zero gradients of one image's inactive ReLU units by zero. The
# run stops as diverged with the initial weights, not the NaN ones.
"$fovea" train --model "$src/assets/models/mlp.json" --limit 1 --batch 1 --val-split 0 --epochs 1 \
  --optimizer adagrad --eps 0 --lr 0.01 --seed 3 --no-progress --out "$tmp/nan" >"$tmp/out" 2>"$tmp/err"
code=$?
[ "$code" -eq 1 ] || fail "a run with NaN weights exited $code, want 1"
grep -q "diverged in epoch 1 (a weight is not finite.*initial weights" "$tmp/err" || fail "NaN weights' stderr: $(cat "$tmp/err")"
[ "$(field "$tmp/nan/summary.json" stop_reason)" = "diverged" ] || fail "NaN weights' stop_reason"
"$py" - "$tmp/nan/model.safetensors" <<'PY' || fail "the kept weights are not finite"
import json, struct, sys, math
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
data = raw[8 + n:]
for name, t in head.items():
    if name == "__metadata__" or t["dtype"] != "F32":
        continue
    a, b = t["data_offsets"]
    vals = struct.unpack("<%df" % ((b - a) // 4), data[a:b])
    assert all(math.isfinite(v) for v in vals), name
PY

# Bad settings.
"$fovea" train --model "$src/assets/models/mlp.json" --early-stop 2 --val-split 0 --out "$tmp/e1" >"$tmp/out" 2>"$tmp/err"
grep -q "early-stop.*validation" "$tmp/err" || fail "--early-stop without a validation set: $(cat "$tmp/err")"
run --early-stop 2 --early-stop-metric f1 --out "$tmp/e2"
grep -q "early-stop-metric.*f1" "$tmp/err" || fail "--early-stop-metric f1: $(cat "$tmp/err")"
[ -e "$tmp/e1" ] || [ -e "$tmp/e2" ] && fail "a refused run left a directory"
[ "$fails" -eq 0 ] && echo "stopping rules checks passed"
[ "$fails" -eq 0 ]
