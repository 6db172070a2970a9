#!/usr/bin/env bash
# Checkpoints and --resume: a run killed with SIGKILL part-way through an
# epoch, resumed, ends bit-identical to the same run never interrupted (the
# same model.safetensors, the same metrics.jsonl lines apart from `seconds`
# and `images_per_second`), with metrics.jsonl cut back to the checkpoint's
# epoch; damaged checkpoints and bad resumes fail with one clear line and
# leave the run directory as it was.
# The run carries every kind of state a checkpoint must hold: Adam moments,
# BatchNorm statistics, spectral norm's u and v, the plateau schedule's
# bookkeeping and early stopping's best weights.
# Usage: resume_test.sh FOVEA_BINARY SOURCE_DIR
set -u
fovea=$1
src=$2
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
pid=
. "$src/tests/cli/skip.sh"
[ -d /usr/share/datasets/fashion-mnist ] || skip_test dep "/usr/share/datasets/fashion-mnist missing (dataset-fashion-mnist)"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cp "$src/tests/fixtures/resume_model.json" "$tmp/model.json"
args=(--model "$tmp/model.json" --limit 3000 --val-split 500 --batch 50 --epochs 4 --seed 11
      --optimizer adam --lr 0.002 --lr-schedule plateau --plateau-patience 0 --early-stop 3 --no-progress)
# The metrics lines without their timing fields.
strip() { "$py" -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l); d.pop("seconds"); d.pop("images_per_second"); print(json.dumps(d, sort_keys=True))' "$1"; }
lines() { grep -c '' "$1" 2>/dev/null || echo 0; }

"$fovea" train "${args[@]}" --out "$tmp/ref" >"$tmp/ref.out" 2>&1 || fail "uninterrupted run: $(cat "$tmp/ref.out")"

# The same run, killed part-way through epoch 2 (after epoch 1's line and
# checkpoint, before epoch 2's).
"$fovea" train "${args[@]}" --out "$tmp/run" >"$tmp/run.out" 2>&1 &
pid=$!
for _ in $(seq 1200); do
  [ "$(lines "$tmp/run/metrics.jsonl")" -ge 1 ] && break
  sleep 0.05
done
epoch_seconds=$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["seconds"])' "$tmp/run/metrics.jsonl")
sleep "$("$py" -c "print(float('$epoch_seconds') * 0.4)")"
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
[ "$(lines "$tmp/run/metrics.jsonl")" -eq 1 ] || fail "the kill did not land in epoch 2 ($(lines "$tmp/run/metrics.jsonl") metrics lines)"
[ -e "$tmp/run/summary.json" ] && fail "a killed run has a summary.json"
ls "$tmp/run" | grep -q '\.tmp' && fail "a temporary file was left: $(ls "$tmp/run")"
# As if the kill had come between epoch 2's metrics line and its checkpoint:
# resuming must drop that line.
sed -n 1p "$tmp/run/metrics.jsonl" | sed 's/"epoch":1/"epoch":2/' >>"$tmp/run/metrics.jsonl"
cp -r "$tmp/run" "$tmp/killed"

"$fovea" train --resume "$tmp/run" --no-progress --validate >"$tmp/resume.out" 2>"$tmp/resume.err" ||
  fail "resume: $(cat "$tmp/resume.out" "$tmp/resume.err")"
grep -q "validation: no messages" "$tmp/resume.err" || fail "resume under validation: $(cat "$tmp/resume.err")"
cmp -s "$tmp/ref/model.safetensors" "$tmp/run/model.safetensors" ||
  fail "the resumed run's weights differ from the uninterrupted run's"
[ "$(strip "$tmp/ref/metrics.jsonl")" = "$(strip "$tmp/run/metrics.jsonl")" ] ||
  fail "metrics differ: $(diff <(strip "$tmp/ref/metrics.jsonl") <(strip "$tmp/run/metrics.jsonl"))"
for k in test_loss test_acc stop_reason best_epoch epochs_run; do
  a=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['$k'])" "$tmp/ref/summary.json")
  b=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['$k'])" "$tmp/run/summary.json")
  [ "$a" = "$b" ] || fail "summary $k: $a uninterrupted, $b resumed"
done
"$py" -c "import json,sys; assert json.load(open(sys.argv[1]))['resumed_at_epoch'] == 1" "$tmp/run/summary.json" ||
  fail "summary.json lacks resumed_at_epoch 1"

# expect NAME PATTERN ARGS...: exit 1, one stderr line matching PATTERN,
# and the run directory unchanged.
expect() {
  local name=$1 pattern=$2 dir=$3
  shift 3
  local before
  before=$(cd "$dir" && find . -type f -exec sha256sum {} + | sort)
  "$fovea" train "$@" >"$tmp/out" 2>"$tmp/err"
  local code=$?
  if [ "$code" -ne 1 ] || [ "$(grep -c '' "$tmp/err")" -ne 1 ] || ! grep -Eq -- "$pattern" "$tmp/err"; then
    fail "$name: exit $code, stderr: $(cat "$tmp/err")"
  fi
  [ "$before" = "$(cd "$dir" && find . -type f -exec sha256sum {} + | sort)" ] || fail "$name changed $dir"
}
expect "finished run" "finished.*nothing to resume" "$tmp/run" --resume "$tmp/run"
# Killed after the final checkpoint (the run marked finished) but before
# summary.json, or between summary.json and report.html: --resume redoes the
# test pass, the summary and the report, and leaves the weights as they were.
for gone in "report.html" "summary.json report.html"; do
  cp -r "$tmp/run" "$tmp/unreported"
  (cd "$tmp/unreported" && rm $gone)
  "$fovea" train --resume "$tmp/unreported" --no-progress --validate >"$tmp/finish.out" 2>"$tmp/finish.err" ||
    fail "resume without $gone: $(cat "$tmp/finish.out" "$tmp/finish.err")"
  grep -q "validation: no messages" "$tmp/finish.err" || fail "resume without $gone: $(cat "$tmp/finish.err")"
  [ -f "$tmp/unreported/summary.json" ] && [ -f "$tmp/unreported/report.html" ] ||
    fail "resume without $gone wrote no summary.json or report.html: $(ls "$tmp/unreported")"
  cmp -s "$tmp/run/model.safetensors" "$tmp/unreported/model.safetensors" || fail "resume without $gone moved the weights"
  for k in test_loss test_acc stop_reason best_epoch epochs_run; do
    a=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['$k'])" "$tmp/run/summary.json")
    b=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['$k'])" "$tmp/unreported/summary.json")
    [ "$a" = "$b" ] || fail "resume without $gone: summary $k $b, the finished run's $a"
  done
  expect "finished again" "finished.*nothing to resume" "$tmp/unreported" --resume "$tmp/unreported"
  rm -rf "$tmp/unreported"
done
expect "settings given" "own settings.*--lr" "$tmp/killed" --resume "$tmp/killed" --lr 0.1
mkdir "$tmp/empty"
expect "no run" "no run directory" "$tmp/empty" --resume "$tmp/absent"
expect "no checkpoint" "no checkpoint" "$tmp/empty" --resume "$tmp/empty"

cp -r "$tmp/killed" "$tmp/trunc"
truncate -s 5000 "$tmp/trunc/checkpoint.safetensors"
expect "truncated" "trunc/checkpoint.safetensors" "$tmp/trunc" --resume "$tmp/trunc"

# A tensor of the right size but the wrong shape.
cp -r "$tmp/killed" "$tmp/shape"
"$py" - "$tmp/shape/checkpoint.safetensors" <<'PY'
import json, struct, sys
path = sys.argv[1]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
w = head["5.weight_orig"]
w["shape"] = [w["shape"][1], w["shape"][0]]
text = json.dumps(head, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(path, "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
PY
expect "wrong shape" "5.weight_orig.*shape" "$tmp/shape" --resume "$tmp/shape"

# The model file changed since the run started.
cp -r "$tmp/killed" "$tmp/model"
sed -i 's/"units": 64/"units": 32/' "$tmp/model.json"
expect "other model" "another model" "$tmp/model" --resume "$tmp/model"

[ "$fails" -eq 0 ] && echo "kill and resume checks passed (uninterrupted and resumed runs identical)"
[ "$fails" -eq 0 ]
