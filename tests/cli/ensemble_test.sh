#!/usr/bin/env bash
# `fovea ensemble` and `fovea export --runs` on three fresh runs (two MLPs
# with the same holdout, one CNN with another seed): the ensemble's loss,
# accuracy and log probabilities equal the weighted mean of the softmaxes of
# the members' own `fovea eval --logits` (numpy, float64), on the test split
# and on the shared validation holdout; members that differ in input shape,
# classes or holdout are one line naming the member; the ensemble's ONNX
# graph passes onnx.checker and gives the same probabilities in OpenCV's DNN
# module and in a float64 torch interpreter.
# Skips (exit 77) when /usr/bin/python3 cannot import onnx, cv2, torch or numpy.
# Usage: ensemble_test.sh FOVEA_BINARY SOURCE_DIR
. "$2/tests/cli/common.sh"  # $fovea $src $py $data $tmp, fail, check, expect
for module in onnx cv2 torch numpy; do
  if ! "$py" -c "import $module" >/dev/null 2>&1; then
    echo "skipped: $module missing ($py cannot import $module; tools/install-deps.sh installs it)"
    exit 77
  fi
done
. "$src/tests/cli/few_test_images.sh"
few_test_images 1000

train() {  # train NAME MODEL ARGS...
  local name=$1 model=$2
  shift 2
  "$fovea" train --model "$model" --data "$data" --epochs 1 --no-progress --out "$tmp/$name" "$@" \
    >"$tmp/$name.log" 2>&1 || { echo "FAIL: training $name"; sed 's/^/    /' "$tmp/$name.log"; exit 1; }
}
train a "$src/assets/models/mlp.json" --limit 600 --seed 1 --lr 0.05
train b "$src/assets/models/mlp.json" --limit 600 --seed 1 --lr 0.02
train c "$src/assets/models/fashion_cnn.json" --limit 500 --seed 2 --lr 0.05
for run in a b c; do
  for split in test val; do
    "$fovea" eval --run "$tmp/$run" --split $split --logits "$tmp/$run-$split.npy" --json "$tmp/$run-$split.json" \
      >/dev/null 2>"$tmp/err" || { echo "FAIL: eval $run $split"; cat "$tmp/err"; exit 1; }
  done
done

# ---- fovea ensemble ----
"$fovea" ensemble --runs "$tmp/a,$tmp/b,$tmp/c" --weights 1,1,2 --json "$tmp/test.json" --logits "$tmp/test.npy" \
  --validate >"$tmp/ens.out" 2>"$tmp/ens.err"
code=$?
grep -q "validation: no messages" "$tmp/ens.err"
check "ensemble --validate exits 0 ($code) with no validation message" $((code + $?))
grep -q "ensemble (weighted mean of the softmaxes)" "$tmp/ens.out"; check "ensemble prints its table" $?
"$fovea" ensemble --runs "$tmp/a,$tmp/b" --split val --json "$tmp/val.json" --logits "$tmp/val.npy" >/dev/null 2>&1
check "ensemble --split val of members with the same holdout" $?
"$py" - "$tmp" <<'PY'
import json, sys
import numpy as np
tmp = sys.argv[1]
def softmax(z):
    z = z.astype(np.float64)
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)
for split, runs, w in (("test", "abc", [0.25, 0.25, 0.5]), ("val", "ab", [0.5, 0.5])):
    got = json.load(open("%s/%s.json" % (tmp, split)))
    evals = [json.load(open("%s/%s-%s.json" % (tmp, r, split))) for r in runs]
    p = sum(wi * softmax(np.load("%s/%s-%s.npy" % (tmp, r, split))) for wi, r in zip(w, runs))
    assert got["images"] == evals[0]["images"] == p.shape[0], (got["images"], p.shape)
    assert [m["run"] for m in got["members"]] == [tmp + "/" + r for r in runs]
    for m, e, wi in zip(got["members"], evals, w):
        assert m["loss"] == e["loss"] and m["accuracy"] == e["accuracy"], (m, e)
        assert abs(m["weight"] - wi) < 1e-12
    logp = np.load("%s/%s.npy" % (tmp, split))
    assert logp.dtype == np.float32 and logp.shape == p.shape
    err = np.abs(np.exp(logp.astype(np.float64)) - p).max()
    assert err < 1e-6, "ensemble probabilities differ from the mean of the softmaxes by %g" % err
    print("%s: %d images, |ensemble p - mean of eval softmaxes| <= %.2g" % (split, p.shape[0], err))
PY
check "ensemble probabilities are the weighted mean of the members' eval --logits softmaxes" $?
# Loss and accuracy against the labels (the test labels of the 1000 test images).
"$py" - "$tmp" "$data" <<'PY'
import gzip, json, sys
import numpy as np
tmp, data = sys.argv[1:3]
labels = np.frombuffer(gzip.open(data + "/t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8).astype(int)
def softmax(z):
    z = z.astype(np.float64)
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)
p = sum(w * softmax(np.load("%s/%s-test.npy" % (tmp, r))) for w, r in ((0.25, "a"), (0.25, "b"), (0.5, "c")))
got = json.load(open(tmp + "/test.json"))["ensemble"]
loss = -np.log(p[np.arange(len(labels)), labels]).mean()
acc = (p.argmax(1) == labels).mean()
print("ensemble test loss %.6f (numpy %.6f), accuracy %.4f (numpy %.4f)" % (got["loss"], loss, got["accuracy"], acc))
assert abs(got["loss"] - loss) < 1e-9 * max(1, loss) and got["accuracy"] == acc
assert 0.4 < acc < 1
PY
check "ensemble loss and accuracy equal numpy's on the test labels" $?

edit_metadata() {  # edit_metadata FILE.safetensors CODE: Python CODE rewrites `meta`, the header's __metadata__
  "$py" - "$1" "$2" <<'PY'
import json, struct, sys
path, code = sys.argv[1:3]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
meta = head["__metadata__"]
exec(code)
text = json.dumps(head).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(path, "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
PY
}

# Members that cannot be ensembled, bad weights: one line, exit 1 (2 for the command line).
cp -r "$tmp/a" "$tmp/shape"
edit_metadata "$tmp/shape/model.safetensors" \
  'spec = json.loads(meta["spec"]); spec["input"] = [1, 32, 32]; meta["spec"] = json.dumps(spec)'
cp -r "$tmp/a" "$tmp/names"
"$py" - "$tmp/names/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["classes"] = ["class%d" % k for k in range(10)]
json.dump(s, open(sys.argv[1], "w"))
PY
expect 1 "run $tmp/shape takes input \[1, 32, 32\], run $tmp/a \[1, 28, 28\]" -- ensemble --runs "$tmp/a,$tmp/shape"
expect 1 "run $tmp/names names its classes class0, .* must share the classes" -- ensemble --runs "$tmp/a,$tmp/names"
expect 1 "run $tmp/c held out other images than run $tmp/a" -- ensemble --runs "$tmp/a,$tmp/c" --split val
expect 1 "--weights has 1 values for 2 runs" -- ensemble --runs "$tmp/a,$tmp/b" --weights 1
expect 1 "--weights: -1 is not a finite weight" -- ensemble --runs "$tmp/a,$tmp/b" --weights 1,-1
expect 1 "--weights: the weights sum to 0" -- ensemble --runs "$tmp/a,$tmp/b" --weights 0,0
expect 1 "$tmp/none does not exist" -- ensemble --runs "$tmp/a,$tmp/none"
expect 2 "--runs" -- ensemble
expect 2 "--split" -- ensemble --runs "$tmp/a" --split train

# ---- fovea export --runs ----
expect 2 "--run" -- export --run "$tmp/a" --runs "$tmp/a,$tmp/b" --onnx "$tmp/x.onnx"
expect 2 "--run" -- export --onnx "$tmp/x.onnx"
expect 1 "--weights needs --runs" -- export --run "$tmp/a" --weights 1 --onnx "$tmp/x.onnx"
expect 1 "takes input" -- export --runs "$tmp/a,$tmp/shape" --onnx "$tmp/x.onnx"
[ ! -e "$tmp/x.onnx" ]; check "a refused export writes no file" $?
"$fovea" export --runs "$tmp/a,$tmp/b,$tmp/c" --weights 1,1,2 --onnx "$tmp/ens.onnx" >"$tmp/out" 2>"$tmp/err"
check "export --runs" $?
grep -q "an ensemble of 3 runs" "$tmp/out"; check "export --runs says what it wrote" $?
for runtime in opencv torch; do
  "$py" "$src/tests/cli/ensemble_check.py" "$tmp/ens.onnx" "$tmp/test.npy" "$data" $runtime 1000 2>&1 | grep -v '^\['
  check "ens.onnx in $runtime equals fovea ensemble's probabilities" "${PIPESTATUS[0]}"
done
# A member standardised otherwise (its metadata's mean and std changed, as a
# run on other data would have them): the graph re-standardises its input.
cp -r "$tmp/c" "$tmp/cstd"
edit_metadata "$tmp/cstd/model.safetensors" 'meta["mean"] = json.dumps([json.loads(meta["mean"])[0] + 0.05])
meta["std"] = json.dumps([json.loads(meta["std"])[0] * 1.2])'
"$fovea" ensemble --runs "$tmp/a,$tmp/cstd" --logits "$tmp/std.npy" >/dev/null 2>&1 \
  && "$fovea" export --runs "$tmp/a,$tmp/cstd" --onnx "$tmp/std.onnx" >/dev/null 2>&1
check "ensemble and export of members with other standardisations" $?
"$py" "$src/tests/cli/ensemble_check.py" "$tmp/std.onnx" "$tmp/std.npy" "$data" opencv 1000 2>&1 | grep -v '^\['
check "std.onnx (a member re-standardised) in opencv equals fovea ensemble's probabilities" "${PIPESTATUS[0]}"

echo "ensemble_test: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
