#!/usr/bin/env bash
# Imbalanced classes: on a deliberately imbalanced subset of Fashion-MNIST
# (the first 6000 training images, classes 5-9 thinned to 1 in 20),
# --class-weights balanced and --sampler balanced each raise the balanced
# accuracy (mean per-class recall) of the balanced test images over the
# plain loss; metrics.jsonl's val_balanced_acc equals the mean recall of
# `fovea eval --split val`; --early-stop-metric val_balanced_acc
# keeps the best epoch by it; bad settings are one line.
# Skips (exit 77) when /usr/bin/python3 cannot import numpy.
# Usage: imbalance_test.sh FOVEA_BINARY SOURCE_DIR
. "$2/tests/cli/common.sh"  # $fovea $src $py $data $tmp, fail, check, expect
if ! "$py" -c "import numpy" >/dev/null 2>&1; then
  echo "skipped: numpy missing ($py cannot import numpy)"
  exit 77
fi

# The imbalanced training files and the first 1000 (balanced) test images.
mkdir -p "$tmp/imb"
"$py" - "$data" "$tmp/imb" <<'PY'
import gzip, sys
import numpy as np
src, dst = sys.argv[1:3]
def read(name, header):
    return np.frombuffer(gzip.open(src + "/" + name + ".gz").read(), np.uint8, offset=header)
images = read("train-images-idx3-ubyte", 16).reshape(-1, 784)[:6000]
labels = read("train-labels-idx1-ubyte", 8)[:6000]
rank = np.zeros(len(labels), int)
for k in range(10):
    rank[labels == k] = np.arange((labels == k).sum())
keep = (labels < 5) | (rank % 20 == 0)
def write(name, magic, dims, payload):
    head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    gzip.open(dst + "/" + name + ".gz", "wb").write(head + payload.tobytes())
write("train-images-idx3-ubyte", 0x803, (int(keep.sum()), 28, 28), images[keep])
write("train-labels-idx1-ubyte", 0x801, (int(keep.sum()),), labels[keep])
write("t10k-images-idx3-ubyte", 0x803, (1000, 28, 28), read("t10k-images-idx3-ubyte", 16).reshape(-1, 784)[:1000])
write("t10k-labels-idx1-ubyte", 0x801, (1000,), read("t10k-labels-idx1-ubyte", 8)[:1000])
print("imbalanced subset: %s images per class" % np.bincount(labels[keep], minlength=10).tolist())
PY

train() {  # train NAME EPOCHS ARGS...
  local name=$1 epochs=$2
  shift 2
  "$fovea" train --model "$src/assets/models/mlp.json" --data "$tmp/imb" --epochs "$epochs" --lr 0.01 --seed 3 \
    --no-progress --out "$tmp/$name" "$@" >"$tmp/$name.log" 2>&1 \
    || { echo "FAIL: training $name"; sed 's/^/    /' "$tmp/$name.log"; fails=$((fails + 1)); }
}
train plain 3
train weighted 3 --class-weights balanced --validate
grep -q "validation: no messages" "$tmp/weighted.log"; check "--class-weights balanced under validation" $?
train sampled 3 --sampler balanced
train stopped 4 --class-weights balanced --early-stop 1 --early-stop-metric val_balanced_acc

"$fovea" eval --run "$tmp/weighted" --split val >/dev/null 2>"$tmp/err" \
  || { echo "FAIL: eval"; cat "$tmp/err"; fails=$((fails + 1)); }
"$py" - "$tmp" <<'PY'
import json, sys
import numpy as np
tmp = sys.argv[1]
def balanced(conf):
    conf = np.array(conf, float)
    seen = conf.sum(1) > 0
    return (np.diag(conf)[seen] / conf.sum(1)[seen]).mean()
scores = {}
for run in ("plain", "weighted", "sampled"):
    s = json.load(open("%s/%s/summary.json" % (tmp, run)))
    scores[run] = balanced(s["test_confusion"])
    print("%-8s test accuracy %.4f, balanced accuracy %.4f, val_balanced_acc %.4f, class weights %s" % (
        run, s["test_acc"], scores[run], s["val_balanced_acc"], s["class_weights"]["weights"]))
s = json.load(open(tmp + "/weighted/summary.json"))
w = s["class_weights"]["weights"]
assert s["class_weights"]["setting"] == "balanced" and len(w) == 10 and min(w[5:]) > 5 * max(w[:5]), w
assert json.load(open(tmp + "/sampled/summary.json"))["sampler"] == "balanced"
for run in ("weighted", "sampled"):
    assert scores[run] > scores["plain"] + 0.03, "%s: balanced accuracy %.4f, plain %.4f" % (
        run, scores[run], scores["plain"])
# val_balanced_acc of the last epoch: the mean recall of eval's validation logits.
last = [json.loads(l) for l in open(tmp + "/weighted/metrics.jsonl")][-1]
ev = json.load(open(tmp + "/weighted/eval-val.json"))
recall = [c["accuracy"] for c in ev["per_class"] if c["images"] > 0]
assert abs(np.mean(recall) - last["val_balanced_acc"]) < 1e-12, (np.mean(recall), last["val_balanced_acc"])
assert abs(s["val_balanced_acc"] - last["val_balanced_acc"]) < 1e-15
# Early stopping by val_balanced_acc kept the best epoch by that metric.
st = json.load(open(tmp + "/stopped/summary.json"))
epochs = [json.loads(l) for l in open(tmp + "/stopped/metrics.jsonl")]
v = [e["val_balanced_acc"] for e in epochs]
assert st["best_epoch"] == 1 + int(np.argmax(v)), (st["best_epoch"], v)
assert st["stop_reason"] in ("early_stopping", "max_epochs"), st["stop_reason"]
print("early stopping by val_balanced_acc %s kept epoch %d (%s)" % (v, st["best_epoch"], st["stop_reason"]))
PY
check "balanced weights and sampler raise balanced accuracy; val_balanced_acc is eval's mean recall" $?

expect 1 "--class-weights '1,2' has 2 weights for the model's 10 classes" -- train --model "$src/assets/models/mlp.json" \
  --data "$tmp/imb" --class-weights 1,2 --out "$tmp/bad1"
expect 1 "--class-weights: 'x' in 'x' is not a finite weight" -- train --model "$src/assets/models/mlp.json" \
  --data "$tmp/imb" --class-weights x --out "$tmp/bad2"
expect 1 "--class-weights '0,0,0,0,0,0,0,0,0,0': every weight is 0" -- train \
  --model "$src/assets/models/mlp.json" --data "$tmp/imb" --class-weights 0,0,0,0,0,0,0,0,0,0 --out "$tmp/bad3"
expect 2 "--sampler" -- train --model "$src/assets/models/mlp.json" --sampler often --out "$tmp/bad4"
expect 1 "--early-stop-metric must be val_loss, val_acc or val_balanced_acc" -- train \
  --model "$src/assets/models/mlp.json" --data "$tmp/imb" --early-stop-metric val_f1 --out "$tmp/bad5"
for d in bad1 bad2 bad3 bad4 bad5; do [ ! -e "$tmp/$d" ] || { echo "FAIL: $d was created"; fails=$((fails + 1)); }; done

echo "imbalance_test: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
