#!/usr/bin/env bash
# Gradient accumulation: `--batch 12 --accumulate 4` ends with the weights of
# `--batch 48` up to float summation order (1e-5 relative), for the mlp and
# for fashion_cnn_dropout (its dropout draws go by the row's place in the
# whole batch); a plain `--batch 12` run ends elsewhere; bad values and
# refused combinations are one line each, before any run directory.
# Usage: accumulate_test.sh FOVEA_BINARY SOURCE_DIR
. "$2/tests/cli/common.sh"
. "$src/tests/cli/few_test_images.sh"
few_test_images 10
model="$src/assets/models/mlp.json"

expect 1 "--accumulate must be in 1\.\.4096" -- train --model "$model" --data "$data" --accumulate 0 --out "$tmp/zero"
expect 1 "--accumulate 2 cannot be used with mixup or cutmix" -- \
  train --model "$model" --data "$data" --accumulate 2 --augment mixup:0.4 --out "$tmp/mix"
[ -e "$tmp/zero" ] || [ -e "$tmp/mix" ] && fail "a refused run left its directory"

# 100 images, 4 held out: 96 training images, 2 optimizer steps of 48 rows.
run() {  # run NAME MODEL OPTIONS...
  local name=$1 spec=$2
  shift 2
  "$fovea" train --model "$src/assets/models/$spec.json" --data "$data" --limit 100 --val-split 4 --epochs 1 \
    --seed 5 --optimizer sgd --lr 0.05 --no-progress --validate --out "$tmp/$name" "$@" >"$tmp/$name.out" 2>&1 ||
    fail "$name: the run failed: $(tail -3 "$tmp/$name.out")"
}
for spec in mlp fashion_cnn_dropout; do
  run "$spec-acc" "$spec" --batch 12 --accumulate 4
  run "$spec-big" "$spec" --batch 48
  run "$spec-small" "$spec" --batch 12
  grep -q "^validation: no messages" "$tmp/$spec-acc.out" ||
    fail "$spec: validation messages: $(grep -m3 validation "$tmp/$spec-acc.out")"
  if "$py" - "$tmp/$spec-acc" "$tmp/$spec-big" "$tmp/$spec-small" <<'PY'; then
import json, struct, sys
import numpy as np

def tensors(run):
    raw = open(run + "/model.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=np.float32).astype(np.float64)
    return out

acc, big, small = (tensors(r) for r in sys.argv[1:4])
assert acc.keys() == big.keys() and len(acc) >= 4, (acc.keys(), big.keys())
worst = max(np.max(np.abs(acc[k] - big[k])) / max(np.max(np.abs(big[k])), 1e-30) for k in acc)
moved = max(np.max(np.abs(small[k] - big[k])) / max(np.max(np.abs(big[k])), 1e-30) for k in acc)
print(f"accumulate 4 x 12 against batch 48: worst relative difference {worst:.2e}; batch 12 against 48: {moved:.2e}")
assert worst < 1e-5, worst
assert moved > 1e-3, moved
loss = [json.loads(open(r + "/metrics.jsonl").readline())["train_loss"] for r in sys.argv[1:3]]
assert abs(loss[0] - loss[1]) < 1e-5 * abs(loss[1]), loss
PY
    passes=$((passes + 1))
  else
    fail "$spec: --accumulate 4 --batch 12 does not match --batch 48"
  fi
done
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
