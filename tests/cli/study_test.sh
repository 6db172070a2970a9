#!/usr/bin/env bash
# tools/study_sharpening end to end on a tiny budget (the small budget's
# none and step2 arms with the MLP, 2 seeds, 600 of 1,000 images, 2 epochs,
# 500 test images, probes on 32 images): the runs' files are kept verbatim, the page holds a measured
# row per arm, every corruption, the verdict, the plots and the generated
# sharpness section; a second invocation skips every run and writes the same
# page; --report-only rewrites it alone; an interrupted run resumes from its
# checkpoint; other options on the same saved runs are refused.
# Usage: study_test.sh FOVEA_BINARY SOURCE_DIR
# Without the data set the test cannot run: skipped (77), not passed.
[ -d /usr/share/datasets/fashion-mnist ] || { echo "skipped: /usr/share/datasets/fashion-mnist missing"; exit 77; }
source "$(dirname "$0")/common.sh" "$@"
# A small copy of the data (the first 1,000 training and 500 test images)
# keeps the 15 test evaluations of each run short.
"$py" - "$data" "$tmp/fm" <<'PY' || exit 1
import gzip, os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst)
for name, n in (("train", 1000), ("t10k", 500)):
    for kind, size in (("images-idx3", 784), ("labels-idx1", 1)):
        with gzip.open(f"{src}/{name}-{kind}-ubyte.gz") as f:
            raw = f.read()
        head = 16 if size > 1 else 8
        out = bytearray(raw[:head])
        out[4:8] = struct.pack(">I", n)
        with open(f"{dst}/{name}-{kind}-ubyte", "wb") as f:
            f.write(bytes(out) + raw[head:head + n * size])
PY
args=(--fovea "$fovea" --data "$tmp/fm" --budget small --arms none,step2 --model mlp --seeds 2 --epochs 2 --limit 600
      --val-split 200 --sharpness-images 32 --study-data "$tmp/data" --scratch "$tmp/runs" --doc "$tmp/study.md")
"$py" "$src/tools/study_sharpening" "${args[@]}" >"$tmp/log1" 2>&1 || { cat "$tmp/log1"; exit 1; }
for arm in none step2; do
  for s in 0 1; do
    cmp -s "$tmp/data/small/$arm/seed-$s/summary.json" "$tmp/runs/small/$arm/seed-$s/summary.json" ||
      fail "$arm seed $s: summary.json not kept verbatim"
    cmp -s "$tmp/data/small/$arm/seed-$s/metrics.jsonl" "$tmp/runs/small/$arm/seed-$s/metrics.jsonl" ||
      fail "$arm seed $s: metrics.jsonl not kept verbatim"
  done
  [ -e "$tmp/data/small/$arm/seed-0/model.safetensors" ] && fail "weights were kept in the study data"
  grep -q '"jacobian_fro"' "$tmp/data/small/sharpness/$arm/sharpness.json" || fail "$arm: no probe of the final weights"
  grep -Eq "^\| $arm: mlp, .* \| 2 \| [0-9]+\.[0-9]+ ± [0-9]+\.[0-9]+ \| [0-9]+\.[0-9]+ ± " "$tmp/study.md" ||
    fail "no measured row for $arm"
  grep -Eq "^\| [0-9] \| .*[0-9], [0-9.]+ \|" "$tmp/study.md" || fail "no sharpness row"
done
grep -q "JPEG q8 |" "$tmp/study.md" || fail "the corruption table lacks JPEG"
grep -q "salt-and-pepper 0.08" "$tmp/study.md" || fail "the corruption table lacks salt-and-pepper"
grep -q "^- \*\*step2\*\* .* against none (2 and 2 seeds): clean test accuracy" "$tmp/study.md" || fail "no verdict"
# The verdict's time ratio pairs each step2 run with the none run of its seed.
ratio=$("$py" -c '
import json, statistics, sys
def secs(arm, s):
    return sum(json.loads(l)["seconds"] for l in open(f"{sys.argv[1]}/{arm}/seed-{s}/metrics.jsonl") if l.strip())
print(f"{statistics.mean(secs(sys.argv[2], s) / secs(sys.argv[3], s) for s in (0, 1)):.2f}")' \
  "$tmp/data/small" step2 none)
grep -q "same seed: x$ratio ± [0-9.]* over 2 seeds)" "$tmp/study.md" || fail "no same-seed time ratio x$ratio"
grep -q "Command: \`tools/study_sharpening --budget small --seeds 2 --arms none,step2 --model mlp" "$tmp/study.md" ||
  fail "the page does not state the command"
grep -q "<polyline" "$tmp/study-small.svg" || fail "no curves in the plot"
grep -q "2(1+β)/η" "$tmp/study-small-sharpness.svg" || fail "no edge-of-stability line in the sharpness plot"
grep -q "^\[2/6\] small step2 seed 0: running" "$tmp/log1" || fail "the runs did not go seed by seed"
[ "$(grep -c '"arm"' "$tmp/data/small/study-log.jsonl")" -eq 6 ] || fail "study-log.jsonl does not hold the 6 runs"
grep -q "^- Kept: 4 of the 4 training runs (2 arms x 2 seeds) and 2 of the 2 probe runs\.$" "$tmp/study.md" ||
  fail "the page does not say that every run is kept"
cp "$tmp/study.md" "$tmp/first.md"
# Resume: nothing to run, the same page; --report-only alone writes it too.
"$py" "$src/tools/study_sharpening" "${args[@]}" >"$tmp/log2" 2>&1 || { cat "$tmp/log2"; exit 1; }
[ "$(grep -c 'skipped' "$tmp/log2")" -eq 6 ] || fail "second invocation did not skip all 6 runs"
cmp -s "$tmp/first.md" "$tmp/study.md" || fail "the page changed on a resume with nothing to run"
rm "$tmp/study.md"
"$py" "$src/tools/study_sharpening" --report-only --study-data "$tmp/data" --doc "$tmp/study.md" >/dev/null 2>&1 ||
  fail "--report-only failed"
cmp -s "$tmp/first.md" "$tmp/study.md" || fail "--report-only wrote another page"
# A run interrupted after its last checkpoint (no summary.json yet, not
# kept) resumes from it.
rm -r "$tmp/data/small/step2/seed-1"
"$py" "$src/tools/study_sharpening" --report-only --study-data "$tmp/data" --doc "$tmp/partial.md" >/dev/null 2>&1 ||
  fail "--report-only failed on a study stopped part way"
grep -q "^- Kept: 3 of the 4 training runs .*; the study is not finished, and \`tools/study_sharpening --budget small" \
  "$tmp/partial.md" || fail "a page made part way does not say so"
grep -q "same seed: x[0-9.]* ± 0.00 over 1 seed)" "$tmp/partial.md" || fail "the time ratio did not drop the unpaired seed"
d=$tmp/runs/small/step2/seed-1
rm "$d/summary.json"
"$py" "$src/tools/study_sharpening" "${args[@]}" >"$tmp/log3" 2>&1 || { cat "$tmp/log3"; exit 1; }
grep -q -- "--resume $d" "$d.log" || fail "the interrupted run was not resumed from its checkpoint"
[ -e "$tmp/data/small/step2/seed-1/summary.json" ] || fail "the resumed run was not kept"
[ "$(grep -c 'skipped' "$tmp/log3")" -eq 5 ] || fail "the finished runs were not skipped"
"$py" "$src/tools/study_sharpening" "${args[@]}" --epochs 3 >"$tmp/log4" 2>&1 &&
  fail "other options on the saved runs were accepted"
grep -q "give the same options" "$tmp/log4" || fail "no message for other options: $(cat "$tmp/log4")"
[ "$fails" -eq 0 ] && echo "study script checks passed"
[ "$fails" -eq 0 ]
