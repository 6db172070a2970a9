#!/usr/bin/env bash
# tools/bench and tools/bench_torch.py: alternated pairs, PyTorch at every
# thread count from 1 to the cores with the fastest used (or the one forced
# by --threads), per-pair ratios whose median is the one printed, the load
# recorded, --to-accuracy's wall times, tools/bench_scaling's JSON and charts,
# and the option errors.
# Usage: bench_tools_test.sh FOVEA_BINARY SOURCE_DIR
source "$(dirname "$0")/common.sh" "$@"
"$py" -c 'import torch' 2>/dev/null || skip_test dep "$py cannot import torch (python3-torch)"
build=$(dirname "$fovea")
bench=("$py" "$src/tools/bench" --build "$build" --data "$data")

"${bench[@]}" --pairs 0 >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- "--pairs must be at least 1" "$tmp/err" || fail "--pairs 0: $(cat "$tmp/err")"
"$py" "$src/tools/bench_torch.py" --cuda-graphs >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q -- "--cuda-graphs needs --device cuda" "$tmp/err" || fail "--cuda-graphs on cpu: $(cat "$tmp/err")"

"${bench[@]}" --limit 700 --pairs 2 --json "$tmp/pairs.json" >"$tmp/pairs.txt" 2>&1 \
  || fail "tools/bench --pairs 2: $(tail -5 "$tmp/pairs.txt")"
"${bench[@]}" --limit 700 --pairs 1 --threads 1 --json "$tmp/forced.json" >"$tmp/forced.txt" 2>&1 \
  || fail "tools/bench --threads 1: $(tail -5 "$tmp/forced.txt")"
"${bench[@]}" --limit 700 --to-accuracy 0.3 --max-epochs 2 --model "$src/assets/models/mlp.json" \
  --json "$tmp/acc.json" >"$tmp/acc.txt" 2>&1 || fail "tools/bench --to-accuracy: $(tail -5 "$tmp/acc.txt")"

"$py" - "$tmp" "$(nproc)" <<'PY' || fail "tools/bench figures: see above"
import json, statistics, sys
tmp, cores = sys.argv[1], int(sys.argv[2])
bad = []
p = json.load(open(f"{tmp}/pairs.json"))
if len(p["pairs"]) != 2: bad.append(f"{len(p['pairs'])} pairs, want 2")
for i, pair in enumerate(p["pairs"]):
    t = pair["torch"]
    counts = [c["threads"] for c in t["per_thread_count"]]
    if counts != list(range(1, cores + 1)): bad.append(f"pair {i}: thread counts {counts}")
    best = max(t["per_thread_count"], key=lambda c: c["images_per_second"])
    if (t["threads"], t["images_per_second"]) != (best["threads"], best["images_per_second"]):
        bad.append(f"pair {i}: used {t['threads']} threads, the fastest was {best}")
    want = pair["fovea"]["images_per_second"] / t["images_per_second"]
    if abs(pair["ratio"] - want) > 1e-12 * want: bad.append(f"pair {i}: ratio {pair['ratio']} != {want}")
    for k in ("fovea", "torch"):
        if not pair[k]["others_busy"] >= 0: bad.append(f"pair {i}: {k} others_busy {pair[k]['others_busy']}")
    if not t["blas"]: bad.append("no BLAS named")
med = statistics.median(x["ratio"] for x in p["pairs"])
if abs(p["median"]["ratio"] - med) > 1e-12: bad.append(f"median ratio {p['median']['ratio']} != {med}")
for k in ("load_before", "load_after"):
    if not p[k] >= 0: bad.append(f"{k} missing")
f = json.load(open(f"{tmp}/forced.json"))["pairs"][0]["torch"]
if [c["threads"] for c in f["per_thread_count"]] != [1] or not f["threads_forced"]:
    bad.append(f"--threads 1 ran {f['per_thread_count']}")
a = json.load(open(f"{tmp}/acc.json"))["to_accuracy"]
for k in ("fovea", "torch"):
    r = a[k]
    if not (1 <= r["epochs_run"] <= 2): bad.append(f"to-accuracy {k}: {r['epochs_run']} epochs")
    if r["val_acc"] < 0.3 and r["epochs_run"] < 2: bad.append(f"to-accuracy {k} stopped early at {r['val_acc']}")
if a["torch"]["wall_seconds"] < a["torch"]["seconds"]: bad.append("torch wall time below its training time")
print("\n".join(bad) if bad else "ok")
sys.exit(1 if bad else 0)
PY
# tools/bench_scaling: two batches and two widths, tiny; the JSON holds
# every point with its load, both charts are SVG, --report-only redraws.
"$py" "$src/tools/bench_scaling" --build "$build" --batches 3,5 --widths 1,2 --width-batch 3 --images 6 \
  --warmup 1 --out "$tmp/scaling" >"$tmp/scaling.txt" 2>&1 || fail "tools/bench_scaling: $(tail -5 "$tmp/scaling.txt")"
"$py" - "$tmp/scaling" <<'PY' || fail "tools/bench_scaling figures"
import json, sys, xml.dom.minidom
d = sys.argv[1]
r = json.load(open(f"{d}/scaling.json"))
assert [p["batch"] for p in r["batch"]] == [3, 5], r["batch"]
assert [(p["width"], p["batch"]) for p in r["width"]] == [(1, 3), (2, 3)], r["width"]
for p in r["batch"] + r["width"]:
    assert p["images_per_second"] > 0 and p["device_bytes"] > 0 and p["others_busy"] >= 0, p
    assert p["under_load"] == (p["others_busy"] > 0.25), p
# Twice the channels: more memory at the same batch; a larger batch: more too.
assert r["width"][1]["device_bytes"] > r["width"][0]["device_bytes"], r["width"]
assert r["batch"][1]["device_bytes"] > r["batch"][0]["device_bytes"], r["batch"]
assert r["width"][0]["device_bytes"] == r["batch"][0]["device_bytes"], "x1 at batch 3 is the batch-3 point"
for name in ("scaling-batch.svg", "scaling-width.svg"):
    svg = xml.dom.minidom.parse(f"{d}/{name}").documentElement
    assert svg.tagName == "svg" and len(svg.getElementsByTagName("circle")) == 4, name
md = open(f"{d}/scaling.md").read()
assert md.startswith("<!-- written by tools/bench_scaling") and "| batch | 5 |" in md and r["commit"] in md, md
print("bench_scaling ok")
PY
"$py" "$src/tools/bench_scaling" --report-only --out "$tmp/scaling" >"$tmp/redraw.txt" 2>&1 &&
  grep -q "^| width | x2 (batch 3) |" "$tmp/redraw.txt" || fail "bench_scaling --report-only: $(cat "$tmp/redraw.txt")"
"$py" "$src/tools/bench_scaling" --report-only --out "$tmp/none" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "cannot read $tmp/none/scaling.json" "$tmp/err" || fail "--report-only without data: $(cat "$tmp/err")"
grep -q "^ratio Fovea/PyTorch (per pair)" "$tmp/pairs.txt" || fail "no ratio line: $(cat "$tmp/pairs.txt")"
grep -q "^to validation accuracy 0.3: Fovea" "$tmp/acc.txt" || fail "no to-accuracy line: $(cat "$tmp/acc.txt")"
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
