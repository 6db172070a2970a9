#!/usr/bin/env bash
# `fovea search` on a 600-image subset of Fashion-MNIST with the MLP, one
# epoch per trial: a seeded random search under the validation layer
# (search.jsonl against each trial's own files, the same seed giving the
# same trials, best.json loading with `train --config` and reproducing the
# best trial, the report's charts), --resume after a cut-short last line and
# after a kill (no trial lost or doubled), --prune-trials abandoning a trial
# after epoch 1, a trial per cross-validation (--protocol), and bad space
# files: one line naming SPACE.json and the key, no directory left behind.
# Skips (exit 77) when /usr/bin/python3 cannot import numpy.
# Usage: search_test.sh FOVEA_BINARY SOURCE_DIR
. "$2/tests/cli/common.sh"  # $fovea $src $py $data $tmp, fail, check, expect, need_modules
need_modules numpy
model="$src/assets/models/mlp.json"

mkdir -p "$tmp/data"
"$py" - "$data" "$tmp/data" "$src/tests/cli" <<'PY'
import sys
src, dst = sys.argv[1:3]
sys.path.insert(0, sys.argv[3])
from idx_subset import read, write
write(dst, read(src, "train-images-idx3-ubyte")[:600], read(src, "train-labels-idx1-ubyte")[:600],
      read(src, "t10k-images-idx3-ubyte")[:200], read(src, "t10k-labels-idx1-ubyte")[:200])
PY
search() {  # search DIR ARGS...: a search on the subset, output in DIR.log
  local dir=$1
  shift
  "$fovea" search --model "$model" --data "$tmp/data" --val-split 200 --no-progress --out "$dir" "$@" >"$dir.log" 2>&1
}
printf '{"lr": {"log_uniform": [0.01, 0.1]}, "shuffle": ["on", "off"], "batch": [32, 64]}' >"$tmp/space.json"

# A random search of 3 trials, validated.
search "$tmp/s1" --space "$tmp/space.json" --trials 3 --seed 5 --validate || fail "search: $(cat "$tmp/s1.log")"
grep -q "validation: no messages" "$tmp/s1.log" || fail "validation layer: $(cat "$tmp/s1.log")"
"$py" - "$tmp/s1" <<'PY' || fail "search.jsonl checks"
import json, os, sys
d = sys.argv[1]
lines = [json.loads(l) for l in open(os.path.join(d, "search.jsonl"))]
assert [l["trial"] for l in lines] == [0, 1, 2], lines
for l in lines:
    s = l["settings"]
    assert sorted(s) == ["batch", "lr", "shuffle"], s
    assert 0.01 <= s["lr"] <= 0.1 and s["shuffle"] in ("on", "off") and s["batch"] in (32, 64), s
    assert s["lr"] == float("%.4g" % s["lr"]), s
    m = [json.loads(x) for x in open(os.path.join(d, l["dir"], "metrics.jsonl"))]
    assert len(m) == 1 and abs(m[0]["val_acc"] - l["mean"]) < 1e-12 and l["epoch1"] == l["mean"], (m, l)
    run = json.load(open(os.path.join(d, l["dir"], "summary.json")))
    assert run["shuffle"] == (s["shuffle"] == "on") and run["batch"] == s["batch"], run
    assert abs(run["lr"] - s["lr"]) < 1e-15 and run["val_images"] == 200, run
    assert l["std"] is None and not l["pruned"] and l["metric"] == "val_acc", l
assert len({l["settings"]["lr"] for l in lines}) == 3
best = max(range(3), key=lambda i: (lines[i]["mean"], -i))
cfg = json.load(open(os.path.join(d, "best.json")))
for k, v in lines[best]["settings"].items():
    assert cfg[k] == v, (k, cfg)
assert cfg["val-split"] == "200" and cfg["data"].endswith("data") and "out" not in cfg and "no-progress" not in cfg, cfg
open(os.path.join(d, "best_trial"), "w").write(str(best))
page = open(os.path.join(d, "report.html")).read()
assert page.count("<svg") == 3 and "lr (log scale)" in page and ">off<" in page, "report charts"
PY
best=$(cat "$tmp/s1/best_trial")
grep -q "^best: trial $best, val_acc " "$tmp/s1.log" || fail "best line: $(tail -3 "$tmp/s1.log")"

# The same seed draws the same trials (a shorter search begins the same way); another seed, others.
search "$tmp/s2" --space "$tmp/space.json" --trials 2 --seed 5 || fail "search s2: $(cat "$tmp/s2.log")"
search "$tmp/s3" --space "$tmp/space.json" --trials 1 --seed 6 || fail "search s3: $(cat "$tmp/s3.log")"
"$py" - "$tmp" <<'PY' || fail "same seed, same trials"
import json, sys
t = sys.argv[1]
def settings(d): return [json.loads(l)["settings"] for l in open(t + "/" + d + "/search.jsonl")]
a, b, c = settings("s1"), settings("s2"), settings("s3")
assert b == a[:2], (a, b)
assert c[0] != a[0], (a, c)
PY

# best.json is a run config: `train --config` reproduces the best trial.
"$fovea" train --config "$tmp/s1/best.json" --out "$tmp/best" --no-progress >"$tmp/best.log" 2>&1 ||
  fail "train --config best.json: $(cat "$tmp/best.log")"
"$py" - "$tmp" "$best" <<'PY' || fail "best.json reproduces the best trial"
import json, sys
t, best = sys.argv[1], int(sys.argv[2])
want = json.load(open(t + "/s1/trial-%d/summary.json" % best))
got = json.load(open(t + "/best/summary.json"))
for k in ("lr", "batch", "epochs", "final_val_acc", "test_acc"):
    assert got[k] == want[k], (k, got[k], want[k])
PY

# --resume after a last line cut short: trial 2 runs again, trials 0-1 stay as they were.
cp -r "$tmp/s1" "$tmp/r1"
head -c -40 "$tmp/s1/search.jsonl" >"$tmp/r1/search.jsonl"
search "$tmp/r1" --space "$tmp/space.json" --trials 3 --seed 5 --resume || fail "resume: $(cat "$tmp/r1.log")"
grep -q "ends in a line cut short" "$tmp/r1.log" && grep -q "trial-2 has no line in search.jsonl" "$tmp/r1.log" ||
  fail "resume messages: $(cat "$tmp/r1.log")"
cmp -s <(head -2 "$tmp/s1/search.jsonl") <(head -2 "$tmp/r1/search.jsonl") || fail "resume changed trials 0-1"
"$py" -c "
import json
a = [json.loads(l) for l in open('$tmp/s1/search.jsonl')]
b = [json.loads(l) for l in open('$tmp/r1/search.jsonl')]
assert len(b) == 3 and b[2]['settings'] == a[2]['settings'] and b[2]['mean'] == a[2]['mean'], b
" || fail "resumed trial 2"
# Resuming with other settings is refused; so is a second search into a searched directory.
expect 1 "was searched with another options" -- search --model "$model" --data "$tmp/data" --epochs 2 \
  --val-split 200 --space "$tmp/space.json" --seed 5 --out "$tmp/r1" --resume
expect 1 "already holds a run \(search.jsonl\); pass --resume" -- search --model "$model" --data "$tmp/data" \
  --space "$tmp/space.json" --out "$tmp/r1"

# A killed search: the trials it finished are kept, none runs twice.
"$fovea" search --model "$model" --data "$tmp/data" --val-split 200 --no-progress --out "$tmp/k" \
  --space "$tmp/space.json" --trials 3 --seed 5 >"$tmp/k1.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
  [ -s "$tmp/k/search.jsonl" ] && break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
kept=$(grep -c '' "$tmp/k/search.jsonl")
[ "$kept" -lt 3 ] || fail "the kill came after the search had ended"
search "$tmp/k" --space "$tmp/space.json" --trials 3 --seed 5 --resume || fail "resume after kill: $(cat "$tmp/k.log")"
grep -q "search: $kept of 3 trials already in" "$tmp/k.log" || fail "killed search kept: $(head -5 "$tmp/k.log")"
"$py" -c "
import json
a = [json.loads(l) for l in open('$tmp/s1/search.jsonl')]
b = [json.loads(l) for l in open('$tmp/k/search.jsonl')]
assert [l['trial'] for l in b] == [0, 1, 2], b
assert [l['settings'] for l in b] == [l['settings'] for l in a], b
" || fail "resumed killed search"

# --prune-trials: the third trial (lr 1e-6) is in the worst half after epoch 1 and stops there.
printf '{"lr": [0.1, 0.05, 1e-6]}' >"$tmp/grid.json"
search "$tmp/p" --space "$tmp/grid.json" --method grid --epochs 2 --prune-trials --validate ||
  fail "prune: $(cat "$tmp/p.log")"
grep -q "validation: no messages" "$tmp/p.log" || fail "prune, validation layer: $(cat "$tmp/p.log")"
"$py" - "$tmp/p" <<'PY' || fail "pruned trial"
import json, os, sys
d = sys.argv[1]
lines = [json.loads(l) for l in open(os.path.join(d, "search.jsonl"))]
assert [l["pruned"] for l in lines] == [False, False, True], lines
assert [l["settings"]["lr"] for l in lines] == [0.1, 0.05, 1e-6], lines
run = json.load(open(os.path.join(d, "trial-2", "summary.json")))
assert run["stop_reason"] == "abandoned" and run["epochs_run"] == 1, run
assert json.load(open(os.path.join(d, "trial-0", "summary.json")))["epochs_run"] == 2
assert json.load(open(os.path.join(d, "best.json"))).get("lr") in (0.1, 0.05)
assert "abandoned after epoch 1" in open(os.path.join(d, "report.html")).read()
PY

# --protocol: each trial a 2-fold cross-validation; the line holds the mean and sample std.
printf '{"lr": [0.1, 0.02]}' >"$tmp/cv.json"
"$fovea" search --model "$model" --data "$tmp/data" --epochs 1 --limit 300 --no-progress --out "$tmp/cv" \
  --space "$tmp/cv.json" --method grid --protocol kfold --folds 2 --metric val_loss --validate >"$tmp/cv.log" 2>&1 ||
  fail "search --protocol: $(cat "$tmp/cv.log")"
grep -q "validation: no messages" "$tmp/cv.log" || fail "cv, validation layer: $(cat "$tmp/cv.log")"
"$py" - "$tmp/cv" <<'PY' || fail "cv trials"
import json, os, statistics, sys
d = sys.argv[1]
lines = [json.loads(l) for l in open(os.path.join(d, "search.jsonl"))]
assert len(lines) == 2 and all(l["metric"] == "val_loss" for l in lines), lines
for l in lines:
    cv = [json.loads(x) for x in open(os.path.join(d, l["dir"], "cv.jsonl"))][:2]
    v = [s["val_loss"] for s in cv]
    assert abs(l["mean"] - sum(v) / 2) < 1e-12 and abs(l["std"] - statistics.stdev(v)) < 1e-12, (l, v)
best = min(range(2), key=lambda i: lines[i]["mean"])
assert json.load(open(os.path.join(d, "best.json")))["lr"] == lines[best]["settings"]["lr"]
PY

# Bad spaces: one line naming the file and the key, exit 1, nothing written.
bad() {  # PATTERN SPACE-JSON [ARGS...]
  local pattern=$1 space=$2
  shift 2
  printf '%s' "$space" >"$tmp/bad.json"
  rm -rf "$tmp/bad"
  expect 1 "$pattern" -- search --model "$model" --data "$tmp/data" --space "$tmp/bad.json" --out "$tmp/bad" "$@"
  [ -e "$tmp/bad" ] && fail "$space left a directory"
}
bad 'bad.json: "lrr" is not a fovea train option; did you mean "lr"\?' '{"lrr": [0.1]}'
bad 'bad.json: "lr": value "abc": .*abc' '{"lr": ["abc"]}'
bad "bad.json: \"optimizer\": value \"bogus\": --optimizer must be one of" '{"optimizer": ["sgd", "bogus"]}'
bad 'bad.json: "lr" is a range, which --method grid cannot enumerate' '{"lr": {"uniform": [0.1, 0.2]}}' --method grid
bad 'bad.json: "lr": log_uniform needs lo > 0' '{"lr": {"log_uniform": [0, 0.1]}}'
bad 'bad.json: "epochs": epochs takes whole numbers, and \[1.2, 1.8\] holds none' '{"epochs": {"uniform": [1.2, 1.8]}}'
bad 'bad.json: "lr" is also given on the command line' '{"lr": [0.1]}' --lr 0.2
bad 'bad.json: "out" cannot be searched' '{"out": ["a", "b"]}'
bad 'bad.json: "batch": value 0: --batch must be at least 1' '{"batch": [0, 32]}'
bad 'search space .*bad.json: not valid JSON' '{"lr": [0.1'
bad 'bad.json: expected a JSON object' '[1, 2]'
bad 'bad.json: "lr": expected a non-empty list' '{"lr": []}'
bad 'bad.json: "beta1": value 0.9: --beta1 does not apply to --optimizer sgd' '{"beta1": [0.9]}'
bad 'bad.json: trial 1 .*: --beta1 does not apply to --optimizer sgd' '{"optimizer": ["adam", "sgd"], "beta1": [0.9]}' \
  --method grid
bad '--resume: .*bad holds no search' '{"lr": [0.1]}' --resume
# Train options valid beside a searched value pass (this one stops at --resume); invalid ones alone are named.
bad '--resume: .*bad holds no search' '{"optimizer": ["adam", "adamw"]}' --beta2 0.99 --resume
bad '^fovea: --epochs must be at least 1$' '{"lr": [0.1]}' --epochs 0

[ "$fails" -eq 0 ] && echo "search checks passed ($passes expect checks)"
[ "$fails" -eq 0 ]
