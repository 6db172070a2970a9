#!/usr/bin/env bash
# `fovea audit` finds flipped labels: the first 2000 Fashion-MNIST training
# images with the labels of 40 known ones changed to another class; after a
# short MLP run, the audit's top 80 (in-sample, and out-of-sample with
# --folds 2 under validation) hold most of the 40; audit.json ranks every
# training image once, most suspect first, with consistent per-class figures;
# audit.html shows the top images; bad options are one line.
# Skips (exit 77) when /usr/bin/python3 cannot import numpy.
# Usage: audit_test.sh FOVEA_BINARY SOURCE_DIR
. "$2/tests/cli/common.sh"  # $fovea $src $py $data $tmp, fail, check, expect, need_modules
need_modules numpy
mkdir -p "$tmp/flip"
"$py" - "$data" "$tmp/flip" "$src/tests/cli" <<'PY'
import sys
import numpy as np
src, dst = sys.argv[1:3]
sys.path.insert(0, sys.argv[3])
from idx_subset import read, write
labels = read(src, "train-labels-idx1-ubyte")[:2000].copy()
flipped = np.arange(0, 2000, 50)
rng = np.random.default_rng(7)
labels[flipped] = (labels[flipped] + rng.integers(1, 10, len(flipped))) % 10
np.save(dst + "/flipped.npy", flipped)
write(dst, read(src, "train-images-idx3-ubyte")[:2000], labels, read(src, "t10k-images-idx3-ubyte")[:200],
      read(src, "t10k-labels-idx1-ubyte")[:200])
PY
"$fovea" train --model "$src/assets/models/mlp.json" --data "$tmp/flip" --epochs 3 --lr 0.02 --val-split 0 \
  --no-progress --out "$tmp/run" >"$tmp/train.log" 2>&1 || { fail "training"; cat "$tmp/train.log"; exit 1; }

"$fovea" audit --run "$tmp/run" --top 80 >"$tmp/in.out" 2>"$tmp/in.err"
check "audit (in-sample)" $?
grep -q "in-sample predictions" "$tmp/in.out"; check "audit says its predictions are in-sample" $?
cp "$tmp/run/audit.json" "$tmp/in.json" && cp "$tmp/run/audit.html" "$tmp/in.html"
"$fovea" audit --run "$tmp/run" --top 80 --folds 2 --validate >"$tmp/out.out" 2>"$tmp/out.err"
code=$?
grep -q "validation: no messages" "$tmp/out.err"
check "audit --folds 2 under validation exits 0 ($code) with no message" $((code + $?))

"$py" - "$tmp" <<'PY'
import gzip, json, sys
import numpy as np
tmp = sys.argv[1]
flipped = set(np.load(tmp + "/flip/flipped.npy").tolist())
labels = np.frombuffer(gzip.open(tmp + "/flip/train-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
for name, in_sample in (("in.json", True), ("run/audit.json", False)):
    a = json.load(open(tmp + "/" + name))
    assert a["in_sample"] == in_sample and a["folds"] == (0 if in_sample else 2), (a["in_sample"], a["folds"])
    imgs = a["images"]
    assert sorted(i["index"] for i in imgs) == list(range(2000)), "every training image once"
    assert all(i["label"] == labels[i["index"]] for i in imgs)
    p = [i["p_label"] for i in imgs]
    assert p == sorted(p), "most suspect (lowest p_label) first"
    assert all(abs(i["margin"]) <= 1 and (i["margin"] < 0) == (i["predicted"] != i["label"]) or i["margin"] == 0
               for i in imgs)
    found = len(flipped & {i["index"] for i in imgs[:80]})
    cls = a["classes"]
    assert sum(c["images"] for c in cls) == 2000
    for k, c in enumerate(cls):
        mine = [i for i in imgs if i["label"] == k]
        assert c["images"] == len(mine)
        assert abs(c["accuracy"] - np.mean([i["predicted"] == k for i in mine])) < 1e-12
        assert abs(c["mean_loss"] - np.mean([-np.log(i["p_label"]) for i in mine])) < 1e-9
    print("%s: %d of the 40 flipped labels in the top 80 of 2000" % (
        "in-sample" if in_sample else "2 folds", found))
    assert found >= 24, found  # most: over half of the 40, in 4% of the images
html = open(tmp + "/in.html").read()
assert html.count("<img ") == 80 and "given: " in html and "predicted: " in html
PY
check "audit puts most flipped labels in its top 80; audit.json consistent" $?

expect 1 "--folds must be 0 \(in-sample\) or at least 2" -- audit --run "$tmp/run" --folds 1
expect 1 "--top must be at least 1" -- audit --run "$tmp/run" --top 0
expect 1 "$tmp/none does not exist" -- audit --run "$tmp/none"
expect 2 "--run" -- audit

echo "audit_test: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
