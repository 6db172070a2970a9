#!/usr/bin/env bash
# --test-corrupt from the command line: a bad item ends with one line naming
# it and exit 1 before any run directory exists; a validated run evaluates
# every corruption once (blur=1 given also as --test-blur 1 appears once),
# in summary.json's test_corrupted with accuracies below the clean one where
# the damage is heavy; `fovea eval --test-corrupt` on the run reproduces
# each entry's loss and accuracy exactly (the same seeded damage).
# Usage: corrupt_test.sh FOVEA_BINARY SOURCE_DIR
source "$(dirname "$0")/common.sh" "$@"
model=$src/assets/models/mlp.json
expect 1 "--test-corrupt: unknown corruption 'fog'" -- train --model "$model" --test-corrupt fog=1 --out "$tmp/e1"
expect 1 "--test-corrupt: 'jpeg=0': jpeg=VALUE needs the quality, a whole number in \[1, 100\], got '0'" -- \
  train --model "$model" --test-corrupt contrast=0.5,jpeg=0 --out "$tmp/e2"
expect 1 "--test-corrupt: 'translate=1.5'" -- train --model "$model" --test-corrupt translate=1.5 --out "$tmp/e3"
for e in e1 e2 e3; do [ -e "$tmp/$e" ] && fail "a refused run left $tmp/$e behind"; done

list=blur=1,noise=0.2,contrast=0.3,brightness=0.4,saltpepper=0.1,translate=3,jpeg=10
"$fovea" train --model "$model" --limit 2000 --epochs 2 --lr 0.05 --no-progress --validate --test-blur 1 \
  --test-corrupt "$list" --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || fail "run: $(cat "$tmp/err")"
grep -q "validation: no messages" "$tmp/err" || fail "run: validation messages: $(cat "$tmp/err")"
expect 1 "--test-corrupt: unknown corruption 'fog'" -- eval --run "$tmp/run" --test-corrupt fog=2
"$fovea" eval --run "$tmp/run" --test-corrupt "$list" --json "$tmp/eval.json" >"$tmp/eout" 2>"$tmp/err" ||
  fail "eval: $(cat "$tmp/err")"
grep -q "jpeg       10 " "$tmp/eout" || fail "eval printed no jpeg line: $(cat "$tmp/eout")"
"$py" - "$tmp" <<'PY' || fails=$((fails + 1))
import json, sys
t = sys.argv[1]
s = json.load(open(f"{t}/run/summary.json"))
e = json.load(open(f"{t}/eval.json"))
ok = True
want = [("blur", 1), ("noise", 0.2), ("contrast", 0.3), ("brightness", 0.4), ("saltpepper", 0.1),
        ("translate", 3), ("jpeg", 10)]
got = [(c["corruption"], c["value"]) for c in s["test_corrupted"]]
if got != want:
    print(f"FAIL: test_corrupted holds {got}, want {want}")
    ok = False
acc = {c["corruption"]: c["acc"] for c in s["test_corrupted"]}
clean = s["test_acc"]
print(f"clean {clean:.4f}, corrupted {acc}")
for k in ("saltpepper", "translate", "brightness", "contrast", "jpeg"):
    if not 0.05 < acc[k] < clean:
        print(f"FAIL: {k} accuracy {acc[k]} is not below the clean {clean} (and above chance)")
        ok = False
if not acc["translate"] < clean - 0.1:
    print("FAIL: a 3-pixel shift should cost the MLP more than 10 points")
    ok = False
ev = {(c["corruption"], c["value"]): c for c in e.get("corrupted", [])}
if abs(e["accuracy"] - clean) > 0 or len(ev) != len(want):
    print(f"FAIL: eval's clean accuracy {e['accuracy']} or its {len(ev)} corrupted entries disagree with the run")
    ok = False
for c in s["test_corrupted"]:
    d = ev.get((c["corruption"], c["value"]))
    if d is None or d["accuracy"] != c["acc"] or abs(d["loss"] - c["loss"]) > 1e-9 * max(1, c["loss"]):
        print(f"FAIL: eval {d} does not reproduce train's {c}")
        ok = False
sys.exit(0 if ok else 1)
PY
[ "$fails" -eq 0 ] && echo "test-corrupt checks passed"
[ "$fails" -eq 0 ]
