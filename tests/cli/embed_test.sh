#!/usr/bin/env bash
# Installation and embedding: `cmake --install` into a temporary prefix,
# then examples/embed built against it with find_package(Fovea) as another
# project would, run on its own Vulkan instance and device (validation layer
# on) with training images in its own VkBuffer: it must learn, its
# predictions must agree with evaluate, and the validation layer stay silent.
# fovea_embed_frame then trains inside its own frame loop (its compute work
# and Fovea's step, or a part of it, in one command buffer a frame, two
# frames in flight) for 200 frames under synchronisation validation, whole
# steps and sliced: zero messages, the loss falls, the share is reported.
# Usage: embed_test.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
data=/usr/share/datasets/fashion-mnist
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
. "$src/tests/cli/skip.sh"
prefix="$tmp/prefix"

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; echo "FAIL: install"; exit 1; }
for f in include/fovea/fovea.hpp include/fovea/fovea.h bin/fovea; do
  [ -f "$prefix/$f" ] || fail "not installed: $f"
done
for f in libfovea.a libfovea_core.a cmake/Fovea/FoveaConfig.cmake cmake/Fovea/FoveaConfigVersion.cmake \
         cmake/Fovea/FoveaTargets.cmake; do
  [ -n "$(find "$prefix" -path "*/$f" -print -quit)" ] || fail "not installed: */$f"
done
# The public headers stand alone: only <vulkan/vulkan.h> and the standard library.
if grep -n '#include "' "$prefix"/include/fovea/*; then fail "an installed header includes a project header"; fi

# The C header is C: a C99 compiler takes it without a warning.
if command -v cc >/dev/null; then
  printf '#include <fovea/fovea.h>\nint main(void) { return fovea_trainer_classes(0) != 0; }\n' >"$tmp/c_api.c"
  cc -std=c99 -Wall -Wextra -Werror -fsyntax-only -I"$prefix/include" "$tmp/c_api.c" || fail "fovea.h is not C99"
fi

cmake -S "$src/examples/embed" -B "$tmp/embed" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; echo "FAIL: configure examples/embed"; exit 1; }
nice cmake --build "$tmp/embed" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; echo "FAIL: build examples/embed"; exit 1; }
grep -q "warning" "$tmp/build.log" && fail "examples/embed builds with warnings: $(grep warning "$tmp/build.log")"
example="$tmp/embed/fovea_embed"

if [ ! -d "$data" ]; then
  [ "$fails" -eq 0 ] || exit 1
  skip_test dep "the run: $data missing (dataset-fashion-mnist)"
fi

# A model spec that does not exist: one line naming it, exit 1, no crash.
"$example" "$data" "$tmp/missing.json" >"$tmp/out" 2>"$tmp/err"
code=$?
[ "$code" -eq 1 ] || fail "missing spec: exit $code"
grep -q "Trainer::create: .*missing.json" "$tmp/err" || fail "missing spec message: $(cat "$tmp/err")"

# 2,000 training images, 3 epochs of the MLP; 1,000 test images.
"$example" "$data" "$src/assets/models/mlp.json" 3 2000 1000 "$tmp/w.safetensors" >"$tmp/out" 2>"$tmp/err"
code=$?
cat "$tmp/out"
[ "$code" -eq 0 ] || fail "fovea_embed exited $code: $(cat "$tmp/err")"
grep -q "validation" "$tmp/err" && fail "validation messages: $(cat "$tmp/err")"
[ "$(grep -c '^epoch ' "$tmp/out")" -eq 3 ] || fail "expected 3 epoch lines"
"$py" - "$tmp/out" "$tmp/w.safetensors" <<'PY' || fail "learning and prediction checks"
import json, re, struct, sys
out = open(sys.argv[1]).read()
losses = [float(m) for m in re.findall(r"^epoch \d+  train_loss (\S+)", out, re.M)]
acc = float(re.search(r"^test  loss \S+  acc (\S+)  \(evaluate, 1000 images\)", out, re.M).group(1))
right = int(re.search(r"^predictions: (\d+) of 1000 right", out, re.M).group(1))
assert losses[-1] < losses[0], f"training loss did not fall: {losses}"
assert acc > 0.6, f"test accuracy {acc}: chance is 0.1"
# The host's argmax of the logits and the GPU's count agree (ties aside).
assert abs(right / 1000 - acc) <= 0.002, (right, acc)
raw = open(sys.argv[2], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
assert set(header) >= {"1.weight", "1.bias", "3.weight", "3.bias", "__metadata__"}, header.keys()
assert header["1.weight"]["shape"] == [256, 784]
print(f"losses {losses}, test accuracy {acc}, predictions right {right}")
PY

# 200 frames: a whole step a frame, then sliced to parts of about 1 ms.
frame="$tmp/embed/fovea_embed_frame"
for budget in 0 1; do
  "$frame" "$data" "$src/assets/models/mlp.json" 200 "$budget" >"$tmp/frame$budget" 2>"$tmp/frame$budget.err"
  code=$?
  cat "$tmp/frame$budget"
  [ "$code" -eq 0 ] || fail "fovea_embed_frame budget $budget exited $code: $(tail -3 "$tmp/frame$budget.err")"
  grep -q "^validation messages: 0$" "$tmp/frame$budget" || fail "budget $budget: validation messages: $(head -3 "$tmp/frame$budget.err")"
  grep -q "^frames 200 " "$tmp/frame$budget" || fail "budget $budget: not 200 frames"
  "$py" - "$tmp/frame$budget" "$budget" <<'PY' || fail "budget $budget: frame loop checks"
import re, sys
out, budget = open(sys.argv[1]).read(), float(sys.argv[2])
steps = int(re.search(r"^frames 200  steps (\d+)  parts per step (\d+)", out, re.M).group(1))
parts = int(re.search(r"parts per step (\d+)", out).group(1))
share = float(re.search(r"fovea share (\S+)%", out).group(1))
first, last = (float(x) for x in re.search(r"^loss: first \d+ steps (\S+)  last \d+ steps (\S+)", out, re.M).groups())
assert 0 < share < 100, share
assert last < first, (first, last)
if budget == 0:
    assert parts == 1 and steps == 200, (parts, steps)
else:
    assert parts > 1 and steps >= 200 // parts - 1, (parts, steps)
print(f"budget {budget}: {steps} steps, {parts} parts a step, fovea share {share}%, loss {first} -> {last}")
PY
done

[ "$fails" -eq 0 ] && echo "all passed"
exit $((fails > 0))
