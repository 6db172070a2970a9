#!/usr/bin/env bash
# 200 kills lose nothing: a 20-epoch MLP run with a checkpoint after every
# epoch (short epochs: about half its time is spent writing checkpoints,
# each fsynced) is killed with SIGKILL at KILLS moments drawn uniformly over
# an uninterrupted run's wall time, and after every kill continued with
# --resume (or started afresh while no checkpoint exists yet), until it
# finishes; then another run, until the kills are spent. A torn checkpoint
# would fail the next resume; every run must end with model.safetensors
# byte-identical to the uninterrupted run's and the same metrics lines.
# Usage: kill_storm_test.sh FOVEA_BINARY SOURCE_DIR [KILLS]
. "$(dirname "$0")/common.sh"
kills=${3:-200}
. "$src/tests/cli/few_test_images.sh"
few_test_images 20
args=(train --model "$src/assets/models/mlp.json" --data "$data" --limit 300 --val-split 100 --batch 100
      --epochs 20 --checkpoint-every 1 --no-progress)
start=$(date +%s%N)
"$fovea" "${args[@]}" --out "$tmp/ref" >"$tmp/ref.log" 2>&1 || fail "uninterrupted run: $(cat "$tmp/ref.log")"
span_ms=$(( ($(date +%s%N) - start) / 1000000 ))
strip() { "$py" -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l); d.pop("seconds"); d.pop("images_per_second", None); print(json.dumps(d, sort_keys=True))' "$1"; }
# storm RUN: runs RUN to its end, killing attempts until $kills kills are
# spent (then letting it finish); checks it against the uninterrupted run.
storm() {
  local run=$1 finished=0 code
  while [ "$finished" -eq 0 ]; do
    attempts=$((attempts + 1))
    if [ -f "$run/checkpoint.safetensors" ]; then
      cmd=("$fovea" train --resume "$run" --no-progress)
    else
      rm -rf "$run"
      fresh=$((fresh + 1))
      cmd=("$fovea" "${args[@]}" --out "$run")
    fi
    "${cmd[@]}" >"$tmp/attempt.log" 2>&1 &
    pid=$!
    if [ "$killed" -lt "$kills" ]; then
      wait_ms=$(( (RANDOM * 32768 + RANDOM) % (span_ms + 1) ))
      sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"
      if kill -9 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        killed=$((killed + 1))
        # Killed after its last file was in place (summary.json, then
        # report.html, each written atomically): the run is complete, and a
        # --resume rightly calls it finished.
        [ -f "$run/summary.json" ] && [ -f "$run/report.html" ] && break
        continue
      fi
    fi
    wait "$pid"
    code=$?
    # A kill after the final checkpoint but before summary.json or
    # report.html is finished by the next --resume (which must not refuse it).
    [ "$code" -eq 0 ] || { fail "attempt $attempts exited $code: $(cat "$tmp/attempt.log")"; return; }
    [ -f "$run/summary.json" ] && finished=1
  done
  runs=$((runs + 1))
  cmp -s "$tmp/ref/model.safetensors" "$run/model.safetensors" || fail "$run: the weights differ after the kills"
  [ "$(strip "$tmp/ref/metrics.jsonl")" = "$(strip "$run/metrics.jsonl")" ] || fail "$run: the metrics differ"
}
killed=0 attempts=0 fresh=0 runs=0
RANDOM=7  # the same moments every time
while [ "$killed" -lt "$kills" ] && [ "$fails" -eq 0 ]; do
  storm "$tmp/run-$runs"
done
echo "kill storm: $killed kills over $attempts attempts ($fresh fresh starts) in $runs runs, each equal to the uninterrupted one (span ${span_ms} ms)"
finish_test
