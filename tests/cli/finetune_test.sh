#!/usr/bin/env bash
# Fine-tuning: --init-partial loads the tensors whose name and shape match
# and lists the rest (without it a mismatch stays an error); --freeze keeps
# the frozen layers' tensors (and BatchNorm's running statistics) bit-identical
# through training with weight decay and an L2 penalty, while the other
# tensors change; frozen layers do no weight-gradient work (--print-plan);
# bad --freeze lists give one line naming the layer. Small runs on
# Fashion-MNIST (256 images).
# Usage: finetune_test.sh FOVEA_BINARY SOURCE_DIR
source "$(dirname "$0")/common.sh" "$@"

# conv -> batchnorm -> relu -> flatten -> dense "hidden" -> relu -> dense
cat >"$tmp/base.json" <<'JSON'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2}, {"type": "batchnorm2d"},
  {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 16, "name": "hidden"},
  {"type": "relu"}, {"type": "dense", "units": 10}]}
JSON
# The same trunk with a new head: "head" instead of layer 6, hidden resized.
cat >"$tmp/new_head.json" <<'JSON'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2}, {"type": "batchnorm2d"},
  {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 12, "name": "hidden"},
  {"type": "relu"}, {"type": "dense", "units": 10, "name": "head"}]}
JSON
common=(--limit 256 --batch 32 --val-split 0 --no-progress --validate)
"$fovea" train --model "$tmp/base.json" --epochs 1 --out "$tmp/a" "${common[@]}" >"$tmp/a.log" 2>&1 ||
  fail "base run: $(cat "$tmp/a.log")"

# --init-partial: the conv and BatchNorm tensors load; hidden (resized) and
# head (new) stay initialised; 4.* is unused.
"$fovea" train --model "$tmp/new_head.json" --init "$tmp/a/model.safetensors" --init-partial --epochs 1 \
  --out "$tmp/b" "${common[@]}" >"$tmp/b.log" 2>&1 || fail "partial run: $(cat "$tmp/b.log")"
for want in "--init-partial: loaded 7 tensors of $tmp/a/model.safetensors" \
            "not loaded (initialised): hidden.weight \[12, 676\] (the file's is \[16, 676\])" \
            "not loaded (initialised): head.weight \[10, 12\] (not in the file)" \
            "unused in the file: 6.weight \[10, 16\]"; do
  grep -q -- "$want" "$tmp/b.log" || fail "partial run's output lacks /$want/: $(cat "$tmp/b.log")"
done
expect 1 "tensor 'hidden.weight' has shape \[16, 676\] but the model needs \[12, 676\]" \
  -- train --model "$tmp/new_head.json" --init "$tmp/a/model.safetensors" --out "$tmp/c" "${common[@]}"
expect 1 "^fovea: --init-partial needs --init FILE$" -- train --model "$tmp/base.json" --init-partial --out "$tmp/c" "${common[@]}"

# --freeze 0,1 from run a's weights, with weight decay and an L2 penalty:
# the conv and BatchNorm tensors end bit-identical, the rest changed.
"$fovea" train --model "$tmp/base.json" --init "$tmp/a/model.safetensors" --freeze 0,1 --weight-decay 0.01 \
  --l2 0.01 --epochs 2 --out "$tmp/f" "${common[@]}" >"$tmp/f.log" 2>&1 || fail "frozen run: $(cat "$tmp/f.log")"
/usr/bin/python3 - "$tmp/a/model.safetensors" "$tmp/f/model.safetensors" <<'PY' || fail "frozen tensors"
import json, struct, sys
def read(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        h = json.loads(f.read(n))
        body = f.read()
    return {k: body[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
a, f = read(sys.argv[1]), read(sys.argv[2])
frozen = {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"}
bad = [k for k in frozen if a[k] != f[k]]
bad += [k + " (unchanged)" for k in a if k not in frozen and k != "1.num_batches_tracked" and a[k] == f[k]]
print("frozen tensors identical, the others changed" if not bad else "FAIL: " + ", ".join(sorted(bad)))
sys.exit(1 if bad else 0)
PY
# The frozen prefix records no backward at all; a frozen dense after
# trained layers computes its input gradient only.
"$fovea" train --model "$tmp/base.json" --freeze 0,hidden --print-plan "${common[@]}" >"$tmp/plan" 2>&1 ||
  fail "print-plan: $(cat "$tmp/plan")"
for gone in 'layers\.0\.conv2d\.backward' 'layers\.4\.dense\.backward  '; do
  ! grep -q "$gone" "$tmp/plan" || fail "the plan records $gone for a frozen layer"
done
for kept in 'layers\.4\.dense\.backward\.input' 'layers\.1\.batchnorm2d\.backward'; do
  grep -q "$kept" "$tmp/plan" || fail "the plan lacks $kept"
done
"$fovea" train --model "$tmp/base.json" --freeze 0,1 --print-plan "${common[@]}" >"$tmp/plan2" 2>&1 ||
  fail "print-plan: $(cat "$tmp/plan2")"
! grep -q 'layers\.1\.batchnorm2d\.backward' "$tmp/plan2" || fail "the plan records a frozen BatchNorm's backward"

expect 1 "^fovea: --freeze: layer 2 \(relu\) has no parameters or running statistics to freeze$" \
  -- train --model "$tmp/base.json" --freeze 2 --out "$tmp/c" "${common[@]}"
expect 1 "^fovea: --freeze: 'nope' is neither a layer index \(0..6\) nor a layer name of the model" \
  -- train --model "$tmp/base.json" --freeze 0,nope --out "$tmp/c" "${common[@]}"
expect 1 "no layer has parameters to train \(--freeze froze every layer that has\)$" \
  -- train --model "$tmp/base.json" --freeze 0,1,hidden,6 --out "$tmp/c" "${common[@]}"
[ -e "$tmp/c" ] && fail "a refused run left $tmp/c behind"
echo "fine-tuning: $passes expectations passed, $fails failed"
[ "$fails" -eq 0 ]
