#!/usr/bin/env bash
# Buffers over the storage-buffer range are split, not refused (issue 11,
# docs/portability.md): fashion_cnn (with and without dropout) and the mlp
# trained 10 steps from the
# same seeded init with FOVEA_LIMITS=storage_range=BYTES small enough that
# their batch tensors are bound in row windows (the plan shows windowed
# views) end with every weight tensor equal to the unsplit run's to 1e-5
# relative (max |a - b| / max |a| per tensor).
# fashion_resnet after one step to 1e-4 (see below). A layer that cannot
# split (global average pooling) is refused with one line naming the layer,
# the buffer and the range.
# Usage: split_test.sh FOVEA_BINARY SOURCE_DIR
. "$(dirname "$0")/common.sh"

# The training files in full (standardisation reads them), and the first 256
# test images and labels as raw IDX (the test pass only feeds the summary).
mkdir -p "$tmp/data"
ln -s "$data"/train-*-ubyte.gz "$tmp/data/"
{
  printf '\x00\x00\x08\x03\x00\x00\x01\x00\x00\x00\x00\x1c\x00\x00\x00\x1c'
  gzip -dc "$data/t10k-images-idx3-ubyte.gz" | tail -c +17 | head -c $((256 * 784))
} >"$tmp/data/t10k-images-idx3-ubyte"
{
  printf '\x00\x00\x08\x01\x00\x00\x01\x00'
  gzip -dc "$data/t10k-labels-idx1-ubyte.gz" | tail -c +9 | head -c 256
} >"$tmp/data/t10k-labels-idx1-ubyte"

cat >"$tmp/compare.py" <<'EOF'
import json, struct, sys
def tensors(path):
    raw = open(path + "/model.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    return {k: struct.unpack(f"<{(t['data_offsets'][1] - t['data_offsets'][0]) // 4}f",
                             raw[8 + n + t["data_offsets"][0]:8 + n + t["data_offsets"][1]])
            for k, t in head.items() if k != "__metadata__"}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert a.keys() == b.keys() and a, (sorted(a), sorted(b))
bound = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
worst = max(max(abs(x - y) for x, y in zip(a[k], b[k])) / max(abs(x) for x in a[k]) for k in a)
print(f"{sys.argv[2]} vs {sys.argv[1]}: worst tensor max |a - b| / max |a| = {worst:.2e} (bound {bound:g})")
sys.exit(0 if worst <= bound else 1)
EOF

# model, batch, range: fashion_cnn's conv activations and im2col workspaces
# (6 to 14 MiB at batch 64) split at 2 MiB, its parameters (1.6 MiB) fit
# (fashion_cnn_dropout at batch 96, so that its first dropout2d splits too:
# its masks must not move);
# the mlp's input batch (1.6 MiB at batch 512) splits at 1 MiB.
# The validation layer (slow) checks the mlp and fashion_resnet split runs
# (the latter has every kind of windowed op of fashion_cnn and more).
for run in "fashion_cnn 64 2097152" "fashion_cnn_dropout 96 2097152" "mlp 512 1048576 --validate"; do
  read -r model batch range validate <<<"$run"
  args=(train --model "$src/assets/models/$model.json" --data "$tmp/data" --limit $((10 * batch))
    --batch "$batch" --val-split 0 --epochs 1 --optimizer sgd --lr 0.05 --momentum 0.9 --seed 7 --no-progress)
  windows=$(FOVEA_LIMITS=storage_range=$range "$fovea" "${args[@]}" --print-plan | grep -cE '\[[0-9]+:[0-9]+\]')
  [ "$windows" -gt 0 ] || fail "$model: no windowed view in the plan at storage_range=$range"
  whole=$("$fovea" "${args[@]}" --print-plan | grep -cE '\[[0-9]+:[0-9]+\]')
  [ "$whole" = 0 ] || fail "$model: $whole windowed views without a range limit"
  start=$(date +%s)
  "$fovea" "${args[@]}" --out "$tmp/$model-whole" >"$tmp/$model-whole.log" 2>&1 ||
    fail "$model unsplit run failed: $(tail -3 "$tmp/$model-whole.log")"
  FOVEA_LIMITS=storage_range=$range "$fovea" "${args[@]}" ${validate:-} --out "$tmp/$model-split" \
    >"$tmp/$model-split.log" 2>&1 || fail "$model split run failed: $(tail -3 "$tmp/$model-split.log")"
  echo "$model: $windows windowed bindings at storage_range=$range; both runs in $(($(date +%s) - start)) s"
  grep -q '"train_images":'$((10 * batch)), "$tmp/$model-split/metrics.jsonl" ||
    fail "$model split run did not train $((10 * batch)) images"
  [ -f "$tmp/$model-split/model.safetensors" ] && [ -f "$tmp/$model-whole/model.safetensors" ] &&
    { (cd "$tmp" && "$py" compare.py "$model-whole" "$model-split") ||
      fail "$model: split weights differ from the unsplit run's by more than 1e-5 relative"; }
done

# fashion_resnet (batch norm, residual adds, strided and 1x1 convolutions)
# at 1 MiB: one step, to 1e-4. Further steps are no test of the split: its
# batch-norm biases (sums of dy that cancel) amplify rounding so fast that
# the unsplit default and portable kernels already differ by 5% after 10.
rargs=(train --model "$src/assets/models/fashion_resnet.json" --data "$tmp/data" --limit 64 --batch 64
  --val-split 0 --epochs 1 --optimizer sgd --lr 0.01 --seed 7 --no-progress)
"$fovea" "${rargs[@]}" --out "$tmp/resnet-whole" >"$tmp/resnet-whole.log" 2>&1 ||
  fail "fashion_resnet unsplit run failed: $(tail -3 "$tmp/resnet-whole.log")"
FOVEA_LIMITS=storage_range=1048576 "$fovea" "${rargs[@]}" --validate --out "$tmp/resnet-split" \
  >"$tmp/resnet-split.log" 2>&1 || fail "fashion_resnet split run failed: $(tail -3 "$tmp/resnet-split.log")"
[ -f "$tmp/resnet-split/model.safetensors" ] && [ -f "$tmp/resnet-whole/model.safetensors" ] &&
  { (cd "$tmp" && "$py" compare.py resnet-whole resnet-split 1e-4) ||
    fail "fashion_resnet: split weights differ from the unsplit run's by more than 1e-4 relative"; }

# Global average pooling does not split: at 512 KiB its input (800 KiB)
# is refused with one clear line naming the dispatch, buffer, size and range.
FOVEA_LIMITS=storage_range=524288 expect 1 \
  "dispatch layers\.[0-9]+\.global_avgpool2d\.[a-z.]+: buffer .* of [0-9]+ bytes is over the device's storage-buffer range of 524288 bytes" -- \
  "${rargs[@]}" --out "$tmp/resnet-refused"

echo "$passes expectations passed, $fails failed"
[ "$fails" = 0 ]
