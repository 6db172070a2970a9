#!/usr/bin/env bash
# --sharpen pyramid from the command line: a model with a size-dependent
# layer (fashion_cnn: flatten before dense) and a ladder deeper than the
# model can take are refused with one line, before any run directory; a
# validated run of a small fully convolutional model (tests/fixtures/
# allconv_tiny.json; --levels 3 over 3 of 4 epochs) trains on 7x7, 14x14,
# then 28x28 images (metrics.jsonl's input_size), the small epochs process
# more images per second, and the run ends above chance; the shipped
# fashion_allconv.json builds at every level of --levels 3 (--print-plan).
# Usage: pyramid_train_test.sh FOVEA_BINARY SOURCE_DIR
source "$(dirname "$0")/common.sh" "$@"
allconv=$src/tests/fixtures/allconv_tiny.json
expect 1 "--sharpen pyramid: .*fashion_cnn.json: layers\[6\] \(flatten\) makes the model depend on the input size" -- \
  train --model "$src/assets/models/fashion_cnn.json" --sharpen pyramid --out "$tmp/e1"
expect 1 "--sharpen pyramid: .*allconv_tiny.json cannot take the level's size 1x1 \(1/32 of 28x28; fewer --levels\?\)" -- \
  train --model "$allconv" --sharpen pyramid --levels 6 --epochs 6 --out "$tmp/e2"
for e in e1 e2; do [ -e "$tmp/$e" ] && fail "a refused run left $tmp/$e behind"; done

"$fovea" train --model "$allconv" --limit 1000 --epochs 4 --lr 0.05 --sharpen pyramid --levels 3 --sharpen-epochs 3 \
  --no-progress --validate --out "$tmp/pyr" >"$tmp/out" 2>"$tmp/err" || fail "pyramid run: $(cat "$tmp/err")"
grep -q "validation: no messages" "$tmp/err" || fail "pyramid run: validation messages: $(cat "$tmp/err")"
"$fovea" train --model "$src/assets/models/fashion_allconv.json" --sharpen pyramid --levels 3 --epochs 4 --print-plan \
  >/dev/null 2>"$tmp/err" || fail "fashion_allconv refused by --sharpen pyramid: $(cat "$tmp/err")"
"$py" - "$tmp/pyr" <<'PY' || fails=$((fails + 1))
import json, sys
d = sys.argv[1]
lines = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
s = json.load(open(f"{d}/summary.json"))
sizes = [tuple(e["input_size"]) for e in lines]
rate = [e["images_per_second"] for e in lines]
print(f"input sizes {sizes}, images/s {[round(r) for r in rate]}, test accuracy {s['test_acc']:.4f}, "
      f"{s['sharpen']['describe']}")
ok = sizes == [(7, 7), (14, 14), (28, 28), (28, 28)]
if not ok:
    print(f"FAIL: the epochs trained on {sizes}, want 7x7, 14x14, 28x28, 28x28")
if not rate[0] > 1.5 * rate[3]:
    print(f"FAIL: the 7x7 epoch ({rate[0]:.0f} images/s) is not clearly faster than the 28x28 one ({rate[3]:.0f})")
    ok = False
if not s["test_acc"] > 0.18 or "pyramid levels 3" not in s["sharpen"]["describe"]:
    print(f"FAIL: test accuracy {s['test_acc']} or the description '{s['sharpen']['describe']}'")
    ok = False
sys.exit(0 if ok else 1)
PY
[ "$fails" -eq 0 ] && echo "pyramid checks passed"
[ "$fails" -eq 0 ]
