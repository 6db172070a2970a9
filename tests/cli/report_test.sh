#!/usr/bin/env bash
# The run report: a tiny sharpened run writes DIR/report.html (under the
# validation layer, which its sample grid uses too); `fovea report DIR`
# writes the same bytes again; a run whose data is gone still gets a page,
# with a note instead of the grid; bad directories and files give one line
# naming them. Then headless Chromium renders the page: the DOM holds the
# charts, headings and the grid, the console stays silent, and the
# screenshot shows the coloured curves.
# Usage: report_test.sh FOVEA_BINARY SOURCE_DIR
set -u
fovea=$1
src=$2
py=/usr/bin/python3
data=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
. "$src/tests/cli/skip.sh"
[ -d "$data" ] || skip_test dep "no data set in $data (dataset-fashion-mnist)"

# expect CODE PATTERN -- ARGS...: exit code CODE, one stderr line matching PATTERN.
expect() {
  local code=$1 pattern=$2
  shift 3
  "$fovea" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$code" ] || [ "$(grep -c '' "$tmp/err")" -ne 1 ] || ! grep -Eq -- "$pattern" "$tmp/err"; then
    fail "fovea $* -> exit $got (want $code), want one stderr line /$pattern/: $(cat "$tmp/err")"
  fi
}

run=$tmp/run
"$fovea" train --model "$src/assets/models/mlp.json" --limit 400 --epochs 2 --lr 0.05 --sharpen step --sigma0 2 \
  --levels 2 --sharpen-epochs 1 --no-progress --validate --out "$run" >"$tmp/out" 2>"$tmp/err"
code=$?
if [ $code -ne 0 ] || ! grep -q "validation: no messages" "$tmp/err" || ! grep -q "^report: $run/report.html" "$tmp/out"; then
  fail "training run (exit $code): $(cat "$tmp/out" "$tmp/err")"
  exit 1
fi
ls "$run" | grep -q '\.tmp$' && fail "a temporary file was left in $run: $(ls "$run")"
cp "$run/report.html" "$tmp/first.html"
# The run counts the test set's confusion matrix: 10 x 10, every test image
# once, its diagonal the images test_acc counts; the page shows it.
"$py" - "$run" <<'EOF' || fail "summary.json test_confusion"
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
c = s["test_confusion"]
assert len(c) == 10 and all(len(r) == 10 for r in c), c
assert sum(map(sum, c)) == s["test_images"], (sum(map(sum, c)), s["test_images"])
diag = sum(c[k][k] for k in range(10))
assert abs(diag / s["test_images"] - s["test_acc"]) <= 2 / s["test_images"], (diag, s["test_acc"])
page = open(sys.argv[1] + "/report.html", encoding="utf-8").read()
assert "fovea eval --run DIR" not in page and ">%d<" % c[3][3] in page, "no confusion table"
EOF

# Regenerated from the files: the same bytes (the grid is blurred again on
# the same device, by the same kernel, from the same images).
FOVEA_VALIDATION=1 "$fovea" report "$run" >"$tmp/out" 2>"$tmp/err" || fail "fovea report: $(cat "$tmp/err")"
grep -q "validation: no messages" "$tmp/err" || fail "fovea report under validation: $(cat "$tmp/err")"
grep -q "^wrote $run/report.html" "$tmp/out" || fail "fovea report printed: $(cat "$tmp/out")"
cmp -s "$tmp/first.html" "$run/report.html" || fail "fovea report wrote a different page than the run: $(diff "$tmp/first.html" "$run/report.html" | head -5)"
# --run DIR, as eval, export and sharpness take a run: the same page.
rm "$run/report.html"
"$fovea" report --run "$run" >"$tmp/out" 2>"$tmp/err" || fail "fovea report --run: $(cat "$tmp/err")"
cmp -s "$tmp/first.html" "$run/report.html" || fail "fovea report --run wrote a different page than the run"

# The page: sigmas 0 and 2 in the grid, the run's numbers, no script.
"$py" - "$run" <<'EOF' || fail "report content"
import json, re, sys
run = sys.argv[1]
page = open(run + "/report.html", encoding="utf-8").read()
lines = [json.loads(l) for l in open(run + "/metrics.jsonl")]
summary = json.load(open(run + "/summary.json"))
assert [l["blur_sigma"] for l in lines] == [2, 0], lines
assert page.count("<svg") == 5, page.count("<svg")
assert "\u03c3 = 0, 2 px" in page, "grid rows"
assert "data:image/png;base64," in page
assert "<td>%.4g</td>" % summary["test_acc"] in page, "test accuracy"
assert "<td>%.4g</td>" % lines[1]["val_loss"] in page, "epoch table"
assert "Sharpness: not measured" in page and "fovea eval --run DIR" not in page
# The step schedule (2 levels in 1 epoch: sigma 2, 1 from the step past half
# an epoch, then 0) drawn per step as 3 steps; metrics.jsonl sees only 2, 0.
chart = page[page.index("Blur \u03c3 (every training step)"):]
pts = [tuple(map(float, p.split(","))) for p in re.search(r'<polyline[^>]*points="([^"]*)"', chart).group(1).split()]
assert len(pts) == 6 and summary["sharpen"]["spec"] == "step", (pts, summary["sharpen"])
assert all((pts[i][1] == pts[i - 1][1]) if i % 2 else (pts[i][0] == pts[i - 1][0]) for i in range(1, 6)), pts
assert "<script" not in page and not re.search(r'(src|href)="(?!data:)', page), "external resources"
EOF

# The data gone: the page renders with a note in place of the grid.
cp -r "$run" "$tmp/moved"
"$py" -c "
import json, sys
p = sys.argv[1] + '/summary.json'
s = json.load(open(p)); s['data'] = sys.argv[1] + '/no-such-data'; json.dump(s, open(p, 'w'))" "$tmp/moved"
"$fovea" report "$tmp/moved" >"$tmp/out" 2>"$tmp/err" || fail "report without data: $(cat "$tmp/err")"
grep -q "no sample grid: .*no-such-data" "$tmp/moved/report.html" || fail "no note about the missing data"
grep -q "data:image/png" "$tmp/moved/report.html" && fail "a grid without data"

# Bad input: one line naming the directory or file.
expect 2 "DIR" -- report
expect 2 "give the run directory once" -- report "$run" --run "$run"
expect 1 "$tmp/nothing/metrics.jsonl" -- report "$tmp/nothing"
expect 1 "device 99" -- report "$run" --device 99
cp -r "$run" "$tmp/broken"
echo '{"epoch": 3, "train_loss": ' >>"$tmp/broken/metrics.jsonl"
expect 1 "metrics.jsonl line 3: not valid JSON" -- report "$tmp/broken"
cp -r "$run" "$tmp/badeval"
echo '{"confusion": [[1, 2], [3]]}' >"$tmp/badeval/eval-test.json"
expect 1 "eval-test.json: 'confusion' row 1" -- report "$tmp/badeval"

# Headless Chromium (Debian's chromium; --no-sandbox as root).
if ! command -v chromium >/dev/null || ! "$py" -c "import cv2" 2>/dev/null; then
  skip_part dep "the Chromium rendering checks (needs chromium and python3-opencv; tools/install-deps.sh)"
else
  chrome=(chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --log-level=0)
  timeout 120 "${chrome[@]}" --dump-dom "file://$run/report.html" >"$tmp/dom.html" 2>"$tmp/dom.err" || fail "chromium --dump-dom"
  timeout 120 "${chrome[@]}" --window-size=1200,3000 --screenshot="$tmp/shot.png" "file://$run/report.html" \
    >/dev/null 2>"$tmp/shot.err" || fail "chromium --screenshot"
  # Console messages (script errors, failed loads) are logged as CONSOLE lines.
  grep -hE "CONSOLE|Uncaught|Failed to load" "$tmp/dom.err" "$tmp/shot.err" && fail "chromium logged console messages"
  "$py" - "$tmp/dom.html" "$tmp/shot.png" <<'EOF' || fail "chromium rendering"
import cv2, sys
dom = open(sys.argv[1], encoding="utf-8").read()
assert dom.count("<svg") == 5 and dom.count("<polyline") >= 7, (dom.count("<svg"), dom.count("<polyline"))
for h in ["Results", "Settings and device", "Learning curves", "Schedules", "Sharpness", "Throughput",
          "Confusion matrix (test set)", "Sample images at each blur level", "Epochs"]:
    assert "<h2>%s</h2>" % h in dom, h
assert 'src="data:image/png;base64,' in dom
img = cv2.imread(sys.argv[2])  # BGR
assert img is not None and img.shape[:2] == (3000, 1200), None if img is None else img.shape
non_white = (img.min(axis=2) < 240).mean()
# The curves' colours: train blue #1f77b4 and validation red #d62728.
def near(bgr):
    return (abs(img.astype(int) - bgr).max(axis=2) < 40).sum()
blue, red = near((180, 119, 31)), near((40, 39, 214))
print("screenshot: %.1f%% non-white, %d blue and %d red curve pixels" % (100 * non_white, blue, red))
assert 0.01 < non_white < 0.9 and blue > 200 and red > 200
EOF
fi

if [ $fails -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "run report: all checks that ran passed"
finish_test
