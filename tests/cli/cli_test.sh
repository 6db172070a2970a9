#!/usr/bin/env bash
# The fovea command as a user meets it: bad input ends with one clear line on
# stderr naming the file, field or value, and exit code 1 or 2 (never a
# signal); a small validated run succeeds with no validation message.
# Usage: cli_test.sh FOVEA_BINARY SOURCE_DIR
set -u
fovea=$1
src=$2
data=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
passes=0

. "$src/tests/cli/expect.sh"  # expect CODE PATTERN -- ARGS...
. "$src/tests/cli/skip.sh"

model=$src/assets/models/mlp.json
expect 2 "subcommand" -- 
expect 2 "--bogus" -- train --model "$model" --bogus
# A misspelt option or subcommand: the nearest one, and the subcommand's help.
expect 2 "^fovea train: unknown option --epoch; did you mean --epochs\? \(see fovea train --help\)$" -- \
  train --model "$model" --epoch 2
expect 2 "^fovea train: unknown option --bogus \(see fovea train --help\)$" -- train --model "$model" --bogus
expect 2 "^fovea cv: unknown option --fold; did you mean --folds\?" -- cv --model "$model" --protocol kfold --fold 3
expect 2 "^fovea: unknown command 'trian'; did you mean train\? \(see fovea --help\)$" -- trian --model "$model"
expect 2 "^fovea eval: --run is required \(see fovea eval --help\)$" -- eval
expect 2 "--model" -- train
expect 2 "--epochs" -- train --model "$model" --epochs many
expect 1 "nope.json" -- train --model "$tmp/nope.json" --out "$tmp/r0"
echo '{"input": [1, 28, 28], "classes": 10, "layers": [{"type": "dense", "units": 0}]}' >"$tmp/bad.json"
expect 1 "bad.json.*layers\[0\].*units" -- train --model "$tmp/bad.json" --out "$tmp/r1"
echo '{"input": [1, 28, 28], "classes": 10, "layers": [' >"$tmp/broken.json"
expect 1 "broken.json" -- train --model "$tmp/broken.json" --out "$tmp/r2"
expect 1 "$tmp/nodata" -- train --model "$model" --data "$tmp/nodata" --out "$tmp/r3"
if [ -d "$data" ]; then
  mkdir -p "$tmp/trunc"
  cp "$data"/*labels* "$data"/t10k-images* "$tmp/trunc/"
  gzip -dc "$data/train-images-idx3-ubyte.gz" | head -c 100000 >"$tmp/trunc/train-images-idx3-ubyte"
  expect 1 "train-images-idx3-ubyte.*(bytes|size|truncated)" -- train --model "$model" --data "$tmp/trunc" --out "$tmp/r4"
  mkdir -p "$tmp/badgz"
  cp "$data"/*labels* "$data"/t10k-images* "$tmp/badgz/"
  head -c 300000 "$data/train-images-idx3-ubyte.gz" >"$tmp/badgz/train-images-idx3-ubyte.gz"
  expect 1 "train-images-idx3-ubyte.gz" -- train --model "$model" --data "$tmp/badgz" --out "$tmp/r5"
  expect 1 "epochs" -- train --model "$model" --epochs 0 --out "$tmp/r6"
  expect 1 "val-split.*1.5" -- train --model "$model" --val-split 1.5 --out "$tmp/r7"
  expect 1 "--lr" -- train --model "$model" --lr -1 --out "$tmp/r8"
  # A value error comes first: no device or run line names a directory never made.
  if grep -q "^run: \|^device: " "$tmp/out"; then
    echo "FAIL: --lr -1 printed before its error: $(cat "$tmp/out")"; fails=$((fails + 1))
  fi
  # A bad input found after the device opened: still no run line.
  expect 1 "nope.json" -- train --model "$tmp/nope.json" --out "$tmp/r8b"
  if grep -q "^run: " "$tmp/out" || [ -e "$tmp/r8b" ]; then echo "FAIL: a missing model printed a run line or made $tmp/r8b"; fails=$((fails + 1)); fi
  expect 1 "device 99" -- train --model "$model" --device 99 --out "$tmp/r9"
  expect 1 "limit|70000" -- train --model "$model" --limit 70000 --out "$tmp/r10"
  # A real run under the validation layer: exit 0, no validation message.
  "$fovea" train --model "$model" --limit 300 --epochs 1 --validate --out "$tmp/ok" >"$tmp/out" 2>"$tmp/err"
  code=$?
  if [ $code -ne 0 ] || grep -q "vulkan validation:" "$tmp/err" || ! grep -q "validation: no messages" "$tmp/err" \
     || [ ! -s "$tmp/ok/metrics.jsonl" ] || [ ! -s "$tmp/ok/summary.json" ]; then
    echo "FAIL: validated run (exit $code):"; sed 's/^/    /' "$tmp/err"; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
  expect 1 "already holds a run" -- train --model "$model" --limit 300 --out "$tmp/ok"
  # A run config: its values, the command line overriding them, and its errors.
  printf '{"model": "%s", "limit": 300, "epochs": 2, "lr": 0.5, "lr-schedule": "step", "lr-step-size": 1,\n "test-blur": [1], "no-progress": true}\n' "$model" >"$tmp/run.json"
  "$fovea" train --config "$tmp/run.json" --lr 0.02 --out "$tmp/cfg" >"$tmp/out" 2>"$tmp/err"
  if [ $? -ne 0 ] || ! /usr/bin/python3 -c "
import json, sys
lines = [json.loads(l) for l in open('$tmp/cfg/metrics.jsonl')]
s = json.load(open('$tmp/cfg/summary.json'))
assert [l['lr'] for l in lines] == [0.02, 0.002], lines
assert s['limit'] == 300 and [c['value'] for c in s['test_corrupted']] == [1], s
"; then
    echo "FAIL: run config"; sed 's/^/    /' "$tmp/err"; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
  echo '{"model": "x", "bogus": 1}' >"$tmp/bad_run.json"
  expect 1 "bad_run.json: unknown option 'bogus'" -- train --config "$tmp/bad_run.json"
  echo '{"lr": [0.1' >"$tmp/broken_run.json"
  expect 1 "broken_run.json: not valid JSON" -- train --config "$tmp/broken_run.json"
  expect 1 "cannot read run config $tmp/none.json" -- train --config "$tmp/none.json"
  # --print-plan: every dispatch with its buffers, the memory lines, and no run directory.
  "$fovea" train --model "$src/assets/models/fashion_cnn.json" --print-plan --out "$tmp/plan" >"$tmp/out" 2>"$tmp/err"
  code=$?
  if [ $code -ne 0 ] || [ -e "$tmp/plan" ] || ! grep -q "^program train" "$tmp/out" || ! grep -q "^program eval" "$tmp/out" \
     || ! grep -q "layers.3.conv2d.backward.input" "$tmp/out" || ! grep -Eq "^  total [0-9.]+ MiB" "$tmp/out" \
     || ! grep -q "optimizer state" "$tmp/out" || ! grep -q "activations" "$tmp/out"; then
    echo "FAIL: --print-plan (exit $code):"; sed 's/^/    /' "$tmp/out" "$tmp/err" | head -20; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
  # Optimizers: bad names and values are one line naming the option; a
  # short validated rmsprop run records torch's defaults (momentum 0, lr
  # 0.01) in summary.json; --help shows the table of defaults.
  expect 1 "--optimizer must be one of sgd, nesterov" -- train --model "$model" --optimizer adamm --out "$tmp/o1"
  expect 1 "--beta1 must be in \[0, 1\), got 1.5" -- train --model "$model" --optimizer adam --beta1 1.5 --out "$tmp/o2"
  expect 1 "--beta1 does not apply to --optimizer sgd" -- train --model "$model" --beta1 0.5 --out "$tmp/o3"
  expect 1 "--centered does not apply to --optimizer adam" -- train --model "$model" --optimizer adam --centered --out "$tmp/o4"
  expect 1 "--momentum must be greater than 0" -- train --model "$model" --optimizer nesterov --momentum 0 --out "$tmp/o5"
  expect 1 "--rho must be in \[0, 1\], got 2" -- train --model "$model" --optimizer adadelta --rho 2 --out "$tmp/o6"
  expect 1 "--eps must be a number >= 0" -- train --model "$model" --optimizer adagrad --eps -1 --out "$tmp/o7"
  "$fovea" train --model "$model" --optimizer rmsprop --alpha 0.9 --limit 300 --epochs 1 --validate --out "$tmp/rms" \
    >"$tmp/out" 2>"$tmp/err"
  code=$?
  if [ $code -ne 0 ] || ! grep -q "validation: no messages" "$tmp/err" || ! /usr/bin/python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
o = s["optimizer"]
want = {"name": "rmsprop", "alpha": 0.9, "eps": 1e-8, "momentum": 0.0, "centered": False, "weight_decay": 0.0}
sys.exit(0 if o == want and s["lr"] == 0.01 else 1)' "$tmp/rms/summary.json"; then
    echo "FAIL: rmsprop run (exit $code) or its summary.json optimizer:"; sed 's/^/    /' "$tmp/err"
    grep -A8 '"optimizer"' "$tmp/rms/summary.json" | sed 's/^/    /'; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
  "$fovea" train --model "$model" --optimizer amsgrad --print-plan >"$tmp/out" 2>"$tmp/err"
  if ! grep -q "optimizer state (amsgrad: exp_avg, exp_avg_sq, max_exp_avg_sq)" "$tmp/out" \
     || ! grep -q "optim/step<9>" "$tmp/out"; then
    echo "FAIL: --optimizer amsgrad --print-plan:"; grep -E "optim|state" "$tmp/out" | sed 's/^/    /'; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
  # Penalties and clipping: one-line errors, then a validated run whose
  # metrics.jsonl reports a positive penalty, and the plan's dispatches.
  expect 1 "--l1 must be a number >= 0, got -1" -- train --model "$model" --l1 -1 --out "$tmp/p1"
  expect 1 "--clip-norm must be a positive number, got 0" -- train --model "$model" --clip-norm 0 --out "$tmp/p2"
  expect 1 "--clip-value must be a positive number" -- train --model "$model" --clip-value -2 --out "$tmp/p3"
  printf '%s' '{"input": [1, 28, 28], "classes": 10, "layers": [{"type": "flatten"},
    {"type": "dense", "units": 16, "l2": 1e-3}, {"type": "relu", "l2": 0.1}, {"type": "dense", "units": 10}]}' \
    >"$tmp/relu_l2.json"
  expect 1 "relu_l2.json: layers\[2\] \(relu\): unknown field 'l2'" -- train --model "$tmp/relu_l2.json" --out "$tmp/p4"
  printf '%s' '{"input": [1, 28, 28], "classes": 10, "layers": [{"type": "flatten"},
    {"type": "dense", "units": 16, "l1": -3}, {"type": "dense", "units": 10}]}' >"$tmp/neg_l1.json"
  expect 1 "layers\[1\] \(dense\): 'l1' must be a number >= 0, got -3" -- train --model "$tmp/neg_l1.json" --out "$tmp/p5"
  "$fovea" train --model "$model" --l1 1e-4 --l2 5e-4 --clip-norm 1 --clip-value 0.5 --limit 300 --epochs 1 \
    --validate --no-progress --out "$tmp/pen" >"$tmp/out" 2>"$tmp/err"
  code=$?
  if [ $code -ne 0 ] || ! grep -q "validation: no messages" "$tmp/err" || ! grep -q "  penalty " "$tmp/out" \
     || ! /usr/bin/python3 -c '
import json, sys
m = json.loads(open(sys.argv[1]).readline())
s = json.load(open(sys.argv[2]))["regularize"]
sys.exit(0 if m["penalty"] > 0 and s["penalised_tensors"] == 2 and s["clip_norm"] == 1 else 1)' \
       "$tmp/pen/metrics.jsonl" "$tmp/pen/summary.json"; then
    echo "FAIL: penalised run (exit $code):"; sed 's/^/    /' "$tmp/out" "$tmp/err"; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
  "$fovea" train --model "$model" --l2 1e-3 --penalize-biases --clip-norm 1 --print-plan >"$tmp/out" 2>"$tmp/err"
  if [ "$(grep -c "\[optim/penalty\]" "$tmp/out")" -ne 4 ] || ! grep -q "clip_norm.sumsq" "$tmp/out"; then
    echo "FAIL: --print-plan with penalties:"; grep -E "penalty|clip" "$tmp/out" | sed 's/^/    /'; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
else
  skip_part dep "no Fashion-MNIST at $data: the data cases (dataset-fashion-mnist)"
fi
if "$fovea" train --help | grep -Eq "^  nadam +lr 0.002 +--beta1 0.9, --beta2 0.999, --eps 1e-08, --momentum-decay 0.004"; then
  passes=$((passes + 1))
else
  echo "FAIL: fovea train --help lacks the optimizer defaults table"; fails=$((fails + 1))
fi
if "$fovea" devices | grep -q "best"; then passes=$((passes + 1)); else echo "FAIL: fovea devices"; fails=$((fails + 1)); fi
echo "$passes passed, $fails failed"
finish_test
