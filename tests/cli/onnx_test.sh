#!/usr/bin/env bash
# `fovea eval` and `fovea export` on fresh runs: the evaluation of a run
# reproduces what `fovea train` reported (test, validation, blur and noise),
# its JSON and .npy files are consistent, bad input is one line and exit 1;
# the exported ONNX files pass onnx.checker and give fovea's logits on 1000
# test images in OpenCV's DNN module (fashion_cnn, and
# tests/fixtures/onnx_layers.json with most layer types), or, for what
# OpenCV 4.6 lacks or gets wrong (dilated MaxPool and ConvTranspose, Where),
# in a float64 torch interpreter of the graph (tests/fixtures/onnx_torch.json,
# and assets/models/fashion_se.json: channel shuffle, squeeze-excitation,
# and an aux head the export leaves out; OpenCV 4.6 fails an assertion in
# shape_utils.hpp on it).
# Skips (exit 77, tests/cli/skip.sh) only when /usr/bin/python3 cannot import onnx, cv2 or torch.
# Usage: onnx_test.sh FOVEA_BINARY SOURCE_DIR
set -u
fovea=$1
src=$2
py=/usr/bin/python3
data=/usr/share/datasets/fashion-mnist
. "$src/tests/cli/skip.sh"
for module in onnx cv2 torch numpy; do
  if ! "$py" -c "import $module" >/dev/null 2>&1; then
    skip_test dep "$module missing ($py cannot import $module; tools/install-deps.sh installs it)"
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
passes=0
check() {  # check NAME STATUS: count a pass or a failure
  if [ "$2" -eq 0 ]; then passes=$((passes + 1)); else echo "FAIL: $1"; fails=$((fails + 1)); fi
}

. "$src/tests/cli/expect.sh"  # expect CODE PATTERN -- ARGS...

# The data: the training files as they are, the first 1000 test images.
. "$src/tests/cli/few_test_images.sh"
few_test_images 1000

train() {  # train NAME MODEL ARGS...
  local name=$1 model=$2
  shift 2
  if ! "$fovea" train --model "$model" --data "$data" --epochs 1 --no-progress --out "$tmp/$name" "$@" >"$tmp/$name.log" 2>&1; then
    echo "FAIL: training $name"; sed 's/^/    /' "$tmp/$name.log"; fails=$((fails + 1)); return 1
  fi
}

train cnn "$src/assets/models/fashion_cnn.json" --limit 600 --lr 0.05 --test-blur 1.5 --test-noise 0.1
train layers "$src/tests/fixtures/onnx_layers.json" --limit 600
train torchfix "$src/tests/fixtures/onnx_torch.json" --limit 600
train noval "$src/assets/models/mlp.json" --limit 200 --val-split 0
train se "$src/assets/models/fashion_se.json" --limit 300

# ---- fovea eval ----
"$fovea" eval --run "$tmp/cnn" --logits "$tmp/cnn.npy" --validate >"$tmp/eval.out" 2>"$tmp/eval.err"
code=$?
grep -q "validation: no messages" "$tmp/eval.err"
check "eval --validate exits 0 ($code) with no validation message" $((code + $?))
grep -q "confusion matrix" "$tmp/eval.out"; check "eval prints the confusion matrix" $?
"$fovea" eval --run "$tmp/cnn" --split val >/dev/null 2>&1; check "eval --split val" $?
"$fovea" eval --run "$tmp/cnn" --split train --json "$tmp/train.json" >/dev/null 2>&1; check "eval --split train" $?
"$fovea" eval --run "$tmp/cnn" --blur-sigma 1.5 >/dev/null 2>&1; check "eval --blur-sigma" $?
"$fovea" eval --run "$tmp/cnn" --noise 0.1 >/dev/null 2>&1; check "eval --noise" $?
"$py" - "$tmp/cnn" "$tmp/cnn.npy" "$tmp/train.json" "$data" <<'PY'
import gzip, json, sys
import numpy as np
run, npy, train_json, data = sys.argv[1:5]
s = json.load(open(run + "/summary.json"))
epoch = [json.loads(l) for l in open(run + "/metrics.jsonl")][-1]
def same(a, b, what):
    assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), "%s: eval %r, train %r" % (what, a, b)
test = json.load(open(run + "/eval-test.json"))
same(test["loss"], s["test_loss"], "test loss"); same(test["accuracy"], s["test_acc"], "test accuracy")
val = json.load(open(run + "/eval-val.json"))
same(val["loss"], epoch["val_loss"], "val loss"); same(val["accuracy"], epoch["val_acc"], "val accuracy")
assert val["images"] == epoch["val_images"] == 50, val["images"]
assert json.load(open(train_json))["images"] == 550
corrupted = {c["corruption"]: c for c in s["test_corrupted"]}
blur = json.load(open(run + "/eval-test-blur1.5-noise0.json"))
same(blur["loss"], corrupted["blur"]["loss"], "blur loss"); same(blur["accuracy"], corrupted["blur"]["acc"], "blur acc")
noise = json.load(open(run + "/eval-test-blur0-noise0.1.json"))
same(noise["loss"], corrupted["noise"]["loss"], "noise loss"); same(noise["accuracy"], corrupted["noise"]["acc"], "noise acc")
# The confusion matrix, per-class figures and the logits agree with each other and the labels.
conf = np.array(test["confusion"])
labels = np.frombuffer(gzip.open(data + "/t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
assert conf.shape == (10, 10) and conf.sum() == test["images"] == 1000
assert list(conf.sum(1)) == list(np.bincount(labels, minlength=10))
assert abs(np.trace(conf) / conf.sum() - test["accuracy"]) < 1e-12
for k, c in enumerate(test["per_class"]):
    assert c["images"] == conf[k].sum() and abs(c["accuracy"] - conf[k, k] / conf[k].sum()) < 1e-12
logits = np.load(npy)
assert logits.dtype == np.float32 and logits.shape == (1000, 10) and logits.flags["C_CONTIGUOUS"]
pred = logits.argmax(1)
assert (pred == labels).mean() == test["accuracy"]
assert all((pred[labels == k] == j).sum() == conf[k, j] for k in range(10) for j in range(10))
assert 0.4 < test["accuracy"] < 1 and logits.std() > 0.1, (test["accuracy"], logits.std())
PY
check "eval reproduces the run's test, val, blur and noise figures; JSON and .npy agree" $?

expect 1 "$tmp/none.*does not exist" -- eval --run "$tmp/none"
mkdir -p "$tmp/empty"
expect 1 "empty.*no model.safetensors" -- eval --run "$tmp/empty"
expect 1 "--split.*bogus" -- eval --run "$tmp/cnn" --split bogus
expect 1 "held out no validation" -- eval --run "$tmp/noval" --split val
expect 1 "--blur-sigma" -- eval --run "$tmp/cnn" --blur-sigma 30
expect 1 "nodir/x.npy" -- eval --run "$tmp/cnn" --logits "$tmp/nodir/x.npy"
expect 2 "--run" -- eval

# ---- fovea export ----
expect 1 "$tmp/none.*does not exist" -- export --run "$tmp/none" --onnx "$tmp/x.onnx"
expect 1 "nodir/x.onnx" -- export --run "$tmp/cnn" --onnx "$tmp/nodir/x.onnx"
expect 2 "--onnx" -- export --run "$tmp/cnn"
for run in cnn layers torchfix se; do
  runtime=opencv
  [ "$run" = torchfix ] || [ "$run" = se ] && runtime=torch
  if [ "$run" != cnn ]; then
    "$fovea" eval --run "$tmp/$run" --logits "$tmp/$run.npy" >/dev/null 2>"$tmp/err" \
      || { echo "FAIL: eval $run"; cat "$tmp/err"; fails=$((fails + 1)); continue; }
  fi
  "$fovea" export --run "$tmp/$run" --onnx "$tmp/$run.onnx" >"$tmp/out" 2>"$tmp/err" \
    || { echo "FAIL: export $run"; cat "$tmp/err"; fails=$((fails + 1)); continue; }
  ls -a "$tmp" | grep -q "\.tmp-" && { echo "FAIL: export left a temporary file"; fails=$((fails + 1)); }
  "$py" "$src/tests/cli/onnx_check.py" "$tmp/$run.onnx" "$tmp/$run.npy" "$data" "$runtime" 1000 2>&1 \
    | grep -v '^\[' ; check "$run.onnx in $runtime equals fovea eval --logits" "${PIPESTATUS[0]}"
done
# The torch interpreter is independent of OpenCV: it must agree on the OpenCV models too.
"$py" "$src/tests/cli/onnx_check.py" "$tmp/layers.onnx" "$tmp/layers.npy" "$data" torch 1000
check "layers.onnx in the torch interpreter" $?

echo "onnx_test: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
