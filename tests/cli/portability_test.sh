#!/usr/bin/env bash
# Portability across Vulkan implementations (docs/portability.md):
# - FOVEA_LIMITS and FOVEA_FAST: bad values are one clear error; vulkan11-min
#   clamps what `fovea devices` reports to the Vulkan 1.1 minimums;
# - cross-implementation equality: a small CNN (conv, relu, max pooling,
#   dense, cross-entropy, SGD with momentum) trained 10 steps from the same
#   seeded init on lavapipe and on SwiftShader, both under the validation
#   layer (the SwiftShader run is also its end-to-end training test), ends
#   with every weight tensor equal to 1e-4 relative: max |a - b| / max |a|
#   per tensor; and the same on lavapipe with FOVEA_FAST=0 (portable
#   kernels) against its default (texel-buffer GEMMs);
# - fp16 columns (FOVEA_FAST=fp16: conv2d's im2col columns in 16-bit
#   storage, fp32 accumulation) on lavapipe against its default (fp32), the
#   same 10 steps, within 1e-3 relative per tensor (measured 1.9e-5) and
#   not equal; SwiftShader, without 16-bit storage, refuses FOVEA_FAST=fp16
#   with one line.
# Skips (exit 77, tests/cli/skip.sh) without the data set or without one of the two drivers
# (tools/install-deps.sh installs both: mesa-vulkan-drivers and chromium).
# Usage: portability_test.sh FOVEA_BINARY SOURCE_DIR
. "$(dirname "$0")/common.sh"
lvp=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json
ss=/usr/lib/chromium/vk_swiftshader_icd.json
for m in "$lvp" "$ss"; do
  if [ ! -f "$m" ]; then
    skip_test dep "Vulkan driver manifest $m missing"
  fi
done
export VK_DRIVER_FILES="$lvp:$ss"

FOVEA_LIMITS=vulkan10-min expect 1 "FOVEA_LIMITS: unknown value 'vulkan10-min'" -- devices
FOVEA_LIMITS=storage_range=12 expect 1 "FOVEA_LIMITS: storage_range=12 is not a byte count" -- devices
FOVEA_FAST=2 expect 1 "FOVEA_FAST: '2' is not 0 .*, 1 .*, fp16 or fp32$" -- train --model "$src/assets/models/mlp.json" --data "$data" \
  --out "$tmp/bad"

FOVEA_FAST=fp16 expect 1 "FOVEA_FAST=fp16: device SwiftShader" -- train --model "$src/assets/models/mlp.json" \
  --data "$data" --device SwiftShader --out "$tmp/bad"

out=$(FOVEA_LIMITS=vulkan11-min "$fovea" devices)
for want in "workgroup <= 128 invocations" "shared 16 KiB" "storage range 128 MiB" \
  "texel buffer 65536 elements" "4 storage buffers per stage" "subgroup operations none" \
  "fp16 arithmetic no"; do
  n=$(grep -c -- "$want" <<<"$out")
  [ "$n" = 2 ] || fail "vulkan11-min: '$want' on $n of 2 devices: $out"
done
grep -q "llvmpipe" <<<"$out" || fail "lavapipe not listed: $out"
grep -q "SwiftShader" <<<"$out" || fail "SwiftShader not listed: $out"

# The training file in full (standardisation reads all of it), 256 test
# images (SwiftShader is slow; the test pass only feeds the summary).
mkdir -p "$tmp/data"
ln -s "$data"/train-*-ubyte.gz "$tmp/data/"
"$py" - "$data" "$tmp/data" <<'EOF' || fail "could not write the short test set"
import gzip, struct, sys
src, dst = sys.argv[1], sys.argv[2]
for name, item in (("t10k-images-idx3-ubyte", 28 * 28), ("t10k-labels-idx1-ubyte", 1)):
    raw = gzip.open(f"{src}/{name}.gz").read()
    dims = raw[3]
    header = bytearray(raw[:4 + 4 * dims])
    header[4:8] = struct.pack(">I", 256)
    open(f"{dst}/{name}", "wb").write(bytes(header) + raw[4 + 4 * dims:4 + 4 * dims + 256 * item])
EOF

cat >"$tmp/cnn.json" <<'EOF'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1},
  {"type": "relu"},
  {"type": "maxpool2d", "kernel": 2},
  {"type": "conv2d", "out_channels": 10, "kernel": 3, "stride": 2},
  {"type": "relu"},
  {"type": "flatten"},
  {"type": "dense", "units": 10}
]}
EOF

# 10 steps: 640 images, batch 64, no holdout, one epoch.
# llvmpipe-portable: lavapipe with FOVEA_FAST=0 (no texel-buffer GEMMs);
# llvmpipe-fp16: lavapipe with FOVEA_FAST=fp16 (fp16 im2col columns).
for run in llvmpipe SwiftShader llvmpipe-portable llvmpipe-fp16; do
  dev=${run%-*}
  fast=1
  [ "$run" = "$dev-portable" ] && fast=0
  [ "$run" = "$dev-fp16" ] && fast=fp16
  start=$(date +%s)
  if ! FOVEA_FAST=$fast "$fovea" train --model "$tmp/cnn.json" --data "$tmp/data" --limit 640 --batch 64 \
    --val-split 0 --epochs 1 --optimizer sgd --lr 0.05 --momentum 0.9 --seed 7 --device "$dev" \
    --validate --no-progress --out "$tmp/$run" >"$tmp/$run.log" 2>&1; then
    fail "training $run failed: $(tail -5 "$tmp/$run.log")"
    continue
  fi
  echo "$run: 10 steps and 256 test images in $(($(date +%s) - start)) s"
  grep -q "\"device\": \"[^\"]*$dev" "$tmp/$run/summary.json" ||
    fail "$run run does not name its device: $(head -c 300 "$tmp/$run/summary.json")"
  # 640 images in batches of 64: exactly 10 steps.
  grep -q '"train_images":640,' "$tmp/$run/metrics.jsonl" ||
    fail "$run run did not train 640 images: $(cat "$tmp/$run/metrics.jsonl")"
done

cat >"$tmp/compare.py" <<'EOF'
import json, struct, sys
def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    out = {}
    for name, t in head.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        a, b = t["data_offsets"]
        buf = raw[8 + n + a:8 + n + b]
        out[name] = struct.unpack(f"<{len(buf) // 4}f", buf)
    return out
a, b = load(sys.argv[1] + "/model.safetensors"), load(sys.argv[2] + "/model.safetensors")
assert a.keys() == b.keys() and a, (sorted(a), sorted(b))
worst = 0.0
for name in sorted(a):
    scale = max(abs(v) for v in a[name])
    assert scale > 0, name
    rel = max(abs(x - y) for x, y in zip(a[name], b[name])) / scale
    worst = max(worst, rel)
    print(f"{name}: max |a - b| / max |a| = {rel:.2e}")
bound = float(sys.argv[3])
print(f"{sys.argv[1]} vs {sys.argv[2]}: worst {worst:.2e} (bound {bound:g})")
# fp16 columns must change the weights (else that path did not run).
sys.exit(0 if worst <= bound and (bound == 1e-4 or worst > 0) else 1)
EOF
for other in SwiftShader:1e-4 llvmpipe-portable:1e-4 llvmpipe-fp16:1e-3; do
  bound=${other#*:}
  other=${other%:*}
  [ -f "$tmp/llvmpipe/model.safetensors" ] && [ -f "$tmp/$other/model.safetensors" ] || continue
  (cd "$tmp" && "$py" compare.py llvmpipe "$other" "$bound") ||
    fail "weights after 10 steps differ by more than $bound relative (or fp16 changed nothing): llvmpipe vs $other"
done

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
