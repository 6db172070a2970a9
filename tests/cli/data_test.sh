#!/usr/bin/env bash
# Your own images from the command line (docs/data.md): the first 2,000 +
# 300 Fashion-MNIST images as IDX files, as PNGs listed by a manifest in
# IDX order, and as a class-folder tree. The manifest run's weights are
# bit-identical to the IDX run's; the folder run standardises identically
# and reaches the same accuracy; the cache serves a second run; `fovea
# predict` agrees with softmax of `fovea eval --logits` (1e-6); every bad
# input is one line, exit 1 and no run directory; rgb_cnn learns a
# generated colour set far above chance; `fovea blur`, `fovea augment` and
# the report's grid come out in colour.
# Usage: data_test.sh FOVEA_BINARY SOURCE_DIR FOVEA_TEST_IMAGES
# Exits 77 (a skip, tests/cli/skip.sh) without the Fashion-MNIST files or numpy.
set -u
fovea=$1
src=$2
gen=$3
py=/usr/bin/python3
data=/usr/share/datasets/fashion-mnist
. "$src/tests/cli/skip.sh"
[ -d "$data" ] || skip_test dep "$data missing (dataset-fashion-mnist)"
"$py" -c "import numpy" >/dev/null 2>&1 || skip_test dep "$py cannot import numpy (python3-numpy)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME=$tmp/cache
fails=0
passes=0
check() {  # check NAME STATUS
  if [ "$2" -eq 0 ]; then passes=$((passes + 1)); else echo "FAIL: $1"; fails=$((fails + 1)); fi
}
. "$src/tests/cli/expect.sh"
json() {  # json FILE EXPR: prints the Python expression of the JSON object j
  "$py" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}
run() {  # run NAME ARGS...: fovea train into $tmp/NAME, log in $tmp/NAME.log
  local name=$1
  shift
  "$fovea" train --no-progress --out "$tmp/$name" "$@" >"$tmp/$name.log" 2>&1
  check "train $name ($(tail -n 1 "$tmp/$name.log"))" $?
}

"$gen" fashion "$data" "$tmp/f" 2000 300 || { echo "FAIL: fovea_test_images fashion"; exit 1; }
mlp=(--model "$src/assets/models/mlp.json" --batch 64 --lr 0.05 --seed 3)  # and --epochs

# ---- the same run from IDX, a manifest and class folders ----
run idx "${mlp[@]}" --epochs 2 --data "$tmp/f/idx"
run csv "${mlp[@]}" --epochs 2 --data "$tmp/f/manifest.csv"
cmp -s "$tmp/idx/model.safetensors" "$tmp/csv/model.safetensors"
check "manifest run's weights are bit-identical to the IDX run's" $?
[ "$(json "$tmp/idx/summary.json" "j['test_acc'], j['test_loss']")" = "$(json "$tmp/csv/summary.json" "j['test_acc'], j['test_loss']")" ]
check "manifest run's test figures equal the IDX run's" $?
[ "$(json "$tmp/csv/summary.json" "j['data_source']['kind'], [j['data_source']['images'][k] for k in ('train', 'val', 'test')], j['classes'][9]")" = \
  "csv [2000, None, 300] 9" ]
check "summary.json records the source and its images per split" $?
run idx_lim "${mlp[@]}" --epochs 2 --data "$tmp/f/idx" --limit 1500 --shuffle off --val-split 0.1
run csv_lim "${mlp[@]}" --epochs 2 --data "$tmp/f/manifest.csv" --limit 1500 --shuffle off --val-split 0.1
cmp -s "$tmp/idx_lim/model.safetensors" "$tmp/csv_lim/model.safetensors"
check "bit-identical with --limit, --shuffle off and a holdout too" $?
run dirs "${mlp[@]}" --epochs 2 --data "$tmp/f/folders"
"$py" - "$tmp/idx" "$tmp/dirs" <<'PY'
import json, struct, sys
def meta(d):
    b = open(d + "/model.safetensors", "rb").read()
    return json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])["__metadata__"]
a, b = meta(sys.argv[1]), meta(sys.argv[2])
assert a["mean"] == b["mean"] and a["std"] == b["std"], (a["mean"], b["mean"])
ta = json.load(open(sys.argv[1] + "/summary.json"))["test_acc"]
tb = json.load(open(sys.argv[2] + "/summary.json"))["test_acc"]
assert abs(ta - tb) < 0.06, (ta, tb)
PY
check "class-folder run: identical standardisation, test accuracy within 0.06 of the IDX run's" $?
grep -q "from the cache" "$tmp/dirs.log" && { echo "FAIL: the first folder run claims the cache"; fails=$((fails + 1)); }
run dirs2 "${mlp[@]}" --epochs 1 --data "$tmp/f/folders"
grep -q "decoded images from the cache" "$tmp/dirs2.log"
check "a second run on the folder reads the cache" $?
run dirs3 "${mlp[@]}" --epochs 1 --data "$tmp/f/folders" --no-cache
! grep -q "from the cache" "$tmp/dirs3.log"
check "--no-cache decodes again" $?

# ---- predict agrees with eval --logits ----
"$fovea" eval --run "$tmp/csv" --logits "$tmp/csv.npy" >/dev/null 2>&1
check "eval --logits on the manifest run" $?
"$fovea" predict --run "$tmp/csv" --json --top 10 "$tmp/f/png/test" >"$tmp/pred.jsonl" 2>"$tmp/pred.err"
check "predict --json on a folder" $?
"$py" - "$tmp/csv.npy" "$tmp/pred.jsonl" "$tmp/f/png/test" <<'PY'
import json, os, sys
import numpy as np
logits = np.load(sys.argv[1]).astype(np.float64)
lines = open(sys.argv[2]).read().splitlines()
assert len(lines) == logits.shape[0] == 300, (len(lines), logits.shape)
p = np.exp(logits - logits.max(axis=1, keepdims=True))
p /= p.sum(axis=1, keepdims=True)
names = sorted(os.listdir(sys.argv[3]))
for i, line in enumerate(lines):
    o = json.loads(line)
    assert set(o) == {"path", "top"} and o["path"].endswith(names[i]), o["path"]
    assert len(o["top"]) == 10
    probs = [t["probability"] for t in o["top"]]
    assert probs == sorted(probs, reverse=True)
    for t in o["top"]:
        assert t["class"] == str(t["label"])
        assert abs(t["probability"] - p[i, t["label"]]) <= 1e-6, (i, t, p[i, t["label"]])
PY
check "predict's probabilities equal softmax of eval --logits (1e-6), in bytewise file order" $?
echo "not an image" >"$tmp/bad.png"
"$fovea" predict --run "$tmp/csv" "$tmp/f/png/test/00000.png" "$tmp/bad.png" "$tmp/f/png/test/00001.png" \
  >"$tmp/pred.txt" 2>"$tmp/pred.err"
[ $? -eq 1 ] && [ "$(grep -c '' "$tmp/pred.txt")" -eq 2 ] && grep -q "bad.png" "$tmp/pred.err" &&
  grep -Eq '^.*00001\.png: [0-9] [01]\.[0-9]{4}, [0-9] [01]\.[0-9]{4}, [0-9] [01]\.[0-9]{4}$' "$tmp/pred.txt"
check "predict: a bad image is named, the others answered (top 3), exit 1" $?
expect 1 "no such file" -- predict --run "$tmp/csv" "$tmp/absent.png"
expect 1 "top must be at least 1" -- predict --run "$tmp/csv" --top 0 "$tmp/bad.png"

# ---- Fashion-MNIST's names; no test set ----
run names --model "$src/assets/models/mlp.json" --epochs 1 --limit 256 --data "$data"
[ "$(json "$tmp/names/summary.json" "j['classes'][0], j['classes'][9]")" = "T-shirt/top Ankle boot" ]
check "Fashion-MNIST's IDX files get its class names" $?
mkdir -p "$tmp/notest" && cp -r "$tmp/f/folders/train" "$tmp/notest/"
run notest "${mlp[@]}" --epochs 1 --data "$tmp/notest"
grep -q "no test set; the test phase is skipped" "$tmp/notest.log" &&
  [ "$(json "$tmp/notest/summary.json" "j['test_acc'], j['test_confusion'], j['data_source']['images']['test']")" = "None None None" ]
check "without a test set the test phase is skipped and its fields are null" $?
"$fovea" report "$tmp/notest" >/dev/null 2>&1
check "fovea report on a run without a test set" $?

# ---- bad data: one line, exit 1, no run directory ----
bad() {  # bad PATTERN ARGS...: train must fail with PATTERN and leave no $tmp/badrun
  local pattern=$1
  shift
  expect 1 "$pattern" -- train --no-progress --out "$tmp/badrun" "${mlp[@]}" --epochs 1 "$@"
  [ -e "$tmp/badrun" ] && { echo "FAIL: a refused run left $tmp/badrun"; fails=$((fails + 1)); rm -rf "$tmp/badrun"; }
}
mkdir -p "$tmp/nothing"
bad "nothing: not a data source: expected IDX files named .*train/<class>/ subfolders, or a .csv manifest" \
  --data "$tmp/nothing"
mk() {  # mk DIR: a small class-folder tree of the first 40 training PNGs
  rm -rf "$1"
  for i in $(seq 0 39); do
    local l=$(sed -n "$((i + 2))p" "$tmp/f/manifest.csv" | cut -d, -f2)
    mkdir -p "$1/train/$l"
    cp "$tmp/f/png/train/$(printf %05d "$i").png" "$1/train/$l/"
  done
}
mk "$tmp/b1" && echo "garbage" >"$tmp/b1/train/3/zz.png"
bad "b1/train/3/zz.png: not an image Fovea reads" --data "$tmp/b1"
run skip "${mlp[@]}" --epochs 1 --data "$tmp/b1" --skip-bad-images
grep -q "skipped .*zz.png" "$tmp/skip.log" && [ "$(json "$tmp/skip/summary.json" "j['data_source']['skipped_images']")" = 1 ]
check "--skip-bad-images lists the bad file and records the count" $?
mk "$tmp/b2" && mkdir -p "$tmp/b2/train/x"
bad "b2/train/x: an empty class folder" --data "$tmp/b2"
mk "$tmp/b3" && mkdir -p "$tmp/b3/test/zebra" && cp "$tmp/f/png/test/00000.png" "$tmp/b3/test/zebra/"
bad "b3/test/zebra: class 'zebra' is not among the training classes" --data "$tmp/b3"
mk "$tmp/b4" && mkdir -p "$tmp/b4/val/3" && cp "$tmp/f/png/test/00000.png" "$tmp/b4/val/3/"
bad "--val-split is refused: .*b4 has a validation set of its own" --data "$tmp/b4" --val-split 0.1
manifest() {  # manifest TEXT: $tmp/f/m.csv (beside the PNGs)
  printf '%b' "$1" >"$tmp/f/m.csv"
}
manifest 'path,label\npng/train/00000.png,1\npng/train/99999.png,2\n'
bad "m.csv: line 3: .*99999.png: cannot open the file" --data "$tmp/f/m.csv"
manifest 'path,label\npng/train/00000.png,1\npng/train/00001.png,12\n'
bad "m.csv: line 3: label 12 is not below the model's 10 classes" --data "$tmp/f/m.csv"
manifest 'path,label,split\npng/train/00000.png,1,train\npng/train/00001.png,2,holdout\n'
bad "m.csv: line 3: split 'holdout' is not train, val or test" --data "$tmp/f/m.csv"
manifest 'path,label\npng/train/00000.png,1\npng/train/00001.png,2,x\n'
bad "m.csv: line 3: 3 fields, the header has 2" --data "$tmp/f/m.csv"
manifest 'png/train/00000.png,1\npng/train/00001.png,2\n'
bad "m.csv: line 1: the header must hold the columns path and label" --data "$tmp/f/m.csv"
manifest 'path,label\npng/train/00000.png,1\npng/train/00000.png,2\n'
bad "m.csv: line 3: path 'png/train/00000.png' repeats the one of line 2" --data "$tmp/f/m.csv"
manifest 'path,label,split\npng/train/00000.png,cat,train\npng/train/00001.png,dog,test\n'
bad "m.csv: line 3: label 'dog' of a test row is a class that no training row has" --data "$tmp/f/m.csv"
expect 1 "input \[3, 32, 32\] does not fit the data in .*idx \(\[1, 28, 28\]\)" -- \
  train --no-progress --out "$tmp/badrun" --model "$src/assets/models/rgb_cnn.json" --data "$tmp/f/idx"
printf '{"input": [2, 28, 28], "classes": 10, "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}' >"$tmp/two.json"
expect 1 "input has 2 channels; image files .* decode to 1 \(grey\) or 3 \(RGB\)" -- \
  train --no-progress --out "$tmp/badrun" --model "$tmp/two.json" --data "$tmp/f/folders"
expect 2 "--resize" -- train --out "$tmp/badrun" "${mlp[@]}" --data "$tmp/f/folders" --resize zoom
[ -e "$tmp/badrun" ] && { echo "FAIL: a refused run left $tmp/badrun"; fails=$((fails + 1)); }

# ---- colour: rgb_cnn on generated coloured bars (40x40, cropped to 32x32) ----
"$gen" shapes "$tmp/s" 1500 300 40 || { echo "FAIL: fovea_test_images shapes"; exit 1; }
run rgb --model "$src/assets/models/rgb_cnn.json" --epochs 2 --lr 0.05 --batch 32 --data "$tmp/s" --val-split 0
"$py" -c "import json,sys; a=json.load(open(sys.argv[1]))['test_acc']; print('rgb_cnn test_acc', a); sys.exit(a < 0.8)" \
  "$tmp/rgb/summary.json"
check "rgb_cnn learns coloured bars (10 classes, chance 0.1) to test accuracy >= 0.8" $?
png_colour() {  # png_colour FILE: exit 0 when the PNG is RGB (colour type 2)
  "$py" -c "import sys; b=open(sys.argv[1],'rb').read(); sys.exit(not (b[:8]==b'\x89PNG\r\n\x1a\n' and b[25]==2))" "$1"
}
"$fovea" blur --data "$tmp/s" --out "$tmp/blur.png" --count 4 >/dev/null 2>&1 && png_colour "$tmp/blur.png"
check "fovea blur on colour images writes an RGB grid" $?
"$fovea" augment --data "$tmp/s" --augment flip,brightness:0.3,contrast:0.3 --count 4 --rows 2 --out "$tmp/aug.png" \
  >/dev/null 2>&1 && png_colour "$tmp/aug.png"
check "fovea augment on colour images writes an RGB grid" $?
"$py" - "$tmp/rgb/report.html" <<'PY'
import base64, re, sys
m = re.search(r'data:image/png;base64,([A-Za-z0-9+/=]+)', open(sys.argv[1]).read())
b = base64.b64decode(m.group(1))
sys.exit(not (b[:4] == b'\x89PNG' and b[25] == 2))
PY
check "the report's sample grid of a colour run is RGB" $?
"$fovea" predict --run "$tmp/rgb" --json "$tmp/s/test/red_upright" >"$tmp/rgb.jsonl" 2>/dev/null
"$py" - "$tmp/rgb.jsonl" <<'PY'
import json, sys
tops = [json.loads(l)["top"][0]["class"] for l in open(sys.argv[1])]
assert tops and sum(t == "red_upright" for t in tops) >= 0.8 * len(tops), tops
PY
check "predict names the class of most upright red bars" $?

echo "data_test: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
