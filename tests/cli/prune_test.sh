#!/usr/bin/env bash
# `fovea prune` on a fresh fashion_cnn run: per-layer pruning zeroes exactly
# round(s n) smallest-magnitude entries of each conv2d / dense weight (numpy,
# ties to the lower index) and leaves biases alone; fine-tuning under
# validation keeps every pruned weight at 0 (and its momentum) while the
# others train; global pruning reaches the sparsity over all weights
# together; the pruned run evaluates and exports like any other; bad input
# is one line.
# Skips (exit 77) when /usr/bin/python3 cannot import numpy.
# Usage: prune_test.sh FOVEA_BINARY SOURCE_DIR
. "$2/tests/cli/common.sh"  # $fovea $src $py $data $tmp, fail, check, expect
if ! "$py" -c "import numpy" >/dev/null 2>&1; then
  echo "skipped: numpy missing ($py cannot import numpy)"
  exit 77
fi
. "$src/tests/cli/few_test_images.sh"
few_test_images 1000

"$fovea" train --model "$src/assets/models/fashion_cnn.json" --data "$data" --limit 600 --epochs 1 --lr 0.05 \
  --no-progress --out "$tmp/run" >"$tmp/train.log" 2>&1 || { fail "training"; cat "$tmp/train.log"; exit 1; }

"$fovea" prune --run "$tmp/run" --sparsity 0.5 --fine-tune-epochs 2 --lr 0.02 --validate --no-progress \
  >"$tmp/prune.out" 2>"$tmp/prune.err"
code=$?
grep -q "validation: no messages" "$tmp/prune.err"
check "prune --fine-tune-epochs under validation exits 0 ($code) with no message" $((code + $?))
grep -q "after fine-tuning" "$tmp/prune.out"; check "prune prints the accuracy after fine-tuning" $?
"$fovea" prune --run "$tmp/run" --sparsity 0.7 --scope global --out "$tmp/global" >"$tmp/global.out" 2>&1
check "prune --scope global" $?
"$fovea" eval --run "$tmp/global" --json "$tmp/global-eval.json" >/dev/null 2>&1
check "eval of a pruned run" $?
"$fovea" export --run "$tmp/global" --onnx "$tmp/global.onnx" >/dev/null 2>&1
check "export of a pruned run" $?

"$py" - "$tmp" <<'PY'
import json, struct, sys
import numpy as np
tmp = sys.argv[1]
def read(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], "<f4")
            for k, v in head.items() if k != "__metadata__"}
orig = read(tmp + "/run/model.safetensors")
weights = [k for k in orig if k.endswith(".weight")]
assert len(weights) >= 3, weights  # fashion_cnn: conv2d and dense layers
def smallest(values, k):  # the k smallest |w|, ties to the lower index
    return set(np.argsort(np.abs(values), kind="stable")[:k].tolist())
# Per layer: exactly the k smallest of each weight tensor, nothing else touched.
pruned = read(tmp + "/run-pruned/pruned.safetensors")
for name, w in orig.items():
    if name in weights:
        k = int(round(0.5 * w.size))
        zero = set(np.flatnonzero(pruned[name] == 0).tolist())
        assert zero == smallest(w, k) | set(np.flatnonzero(w == 0).tolist()), name
        keep = pruned[name] != 0
        assert np.array_equal(pruned[name][keep], w[keep]), name
    else:
        assert np.array_equal(pruned[name], w), name + " (not a weight) changed"
# Fine-tuned: the pruned entries are still exactly 0, the rest moved.
tuned = read(tmp + "/run-pruned/model.safetensors")
for name in weights:
    mask = pruned[name] == 0
    assert np.all(tuned[name][mask] == 0), "%s: %d pruned weights not 0 after fine-tuning" % (
        name, int((tuned[name][mask] != 0).sum()))
    assert np.abs(tuned[name][~mask] - pruned[name][~mask]).max() > 0, name + " did not train"
masked = sum(int((pruned[n] == 0).sum()) for n in weights)
state = read(tmp + "/run-pruned/checkpoint.safetensors")["optimizer.state"]
assert int((state == 0).sum()) >= masked, "momentum: %d zeros for %d pruned weights" % ((state == 0).sum(), masked)
report = json.load(open(tmp + "/run-pruned/prune.json"))
assert report["mask_violations"] == 0 and report["scope"] == "layer" and report["fine_tune_epochs"] == 2
assert all(l["zeros"] >= l["pruned"] == int(round(0.5 * l["size"])) for l in report["layers"]), report["layers"]
for key in ("before", "after_pruning", "after_fine_tune"):
    assert 0.1 < report[key]["accuracy"] <= 1 and report[key]["images"] == 1000, (key, report[key])
# Global: round(0.7 N) over all the weights together, layers pruned unevenly.
g = read(tmp + "/global/model.safetensors")
everything = np.concatenate([orig[n] for n in weights])
total = sum(int((g[n] == 0).sum()) for n in weights)
assert total == len(smallest(everything, int(round(0.7 * everything.size))) | set(np.flatnonzero(everything == 0).tolist()))
fractions = [float((g[n] == 0).mean()) for n in weights]
assert max(fractions) - min(fractions) > 0.05, fractions
gr = json.load(open(tmp + "/global/prune.json"))
ev = json.load(open(tmp + "/global-eval.json"))
assert ev["accuracy"] == gr["after_pruning"]["accuracy"] and "after_fine_tune" not in gr
print("layer scope: %s; after fine-tuning every pruned weight is 0; accuracy before %.4f, pruned %.4f, tuned %.4f"
      % ([round(l["sparsity"], 4) for l in report["layers"]], report["before"]["accuracy"],
         report["after_pruning"]["accuracy"], report["after_fine_tune"]["accuracy"]))
print("global scope 0.7: per-layer sparsity %s" % [round(f, 3) for f in fractions])
PY
check "pruned weights are the smallest, stay 0 through fine-tuning; global scope; eval agrees" $?

expect 1 "--sparsity" -- prune --run "$tmp/run" --sparsity 1.5 --out "$tmp/bad1"
expect 2 "--scope" -- prune --run "$tmp/run" --scope everywhere --out "$tmp/bad2"
expect 1 "$tmp/none does not exist" -- prune --run "$tmp/none"
expect 1 "already holds a run" -- prune --run "$tmp/run" --out "$tmp/global"
expect 2 "--epochs" -- prune --run "$tmp/run" --epochs 2
for d in bad1 bad2 none-pruned; do [ ! -e "$tmp/$d" ] || fail "$d was created"; done

echo "prune_test: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
