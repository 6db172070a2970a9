#!/usr/bin/env bash
# Device loss: VK_ERROR_DEVICE_LOST from a submission (injected by the
# test-only hook FOVEA_TEST_DEVICE_LOST=N, the process's Nth training
# submission) stops `fovea train` with one line naming the lost device and
# exit 1, never a crash; the last checkpoint stays intact: resumed without
# the fault, the run ends bit-identical to one never interrupted. N walks
# from the first step into the last epoch.
# Usage: device_lost_test.sh FOVEA_BINARY SOURCE_DIR
. "$(dirname "$0")/common.sh"
. "$src/tests/cli/few_test_images.sh"
few_test_images 50
args=(train --model "$src/assets/models/mlp.json" --data "$data" --limit 500 --val-split 100 --batch 100
      --epochs 3 --no-progress --validate)
"$fovea" "${args[@]}" --out "$tmp/whole" >"$tmp/whole.log" 2>&1 || fail "uninterrupted run: $(cat "$tmp/whole.log")"
resumed=0
for n in 1 3 6 9 13; do
  run="$tmp/lost-$n"
  FOVEA_TEST_DEVICE_LOST=$n "$fovea" "${args[@]}" --out "$run" >"$run.out" 2>"$run.err"
  code=$?
  if [ "$code" -ne 1 ] || [ "$(wc -l <"$run.err")" -ne 1 ] || ! grep -q "device was lost" "$run.err"; then
    fail "submission $n lost: exit $code (want 1), stderr: $(cat "$run.err")"
    continue
  fi
  [ -f "$run/checkpoint.safetensors" ] || continue  # lost before the first checkpoint
  "$fovea" train --resume "$run" --no-progress >"$run.resume" 2>&1 || { fail "resume after loss $n: $(cat "$run.resume")"; continue; }
  cmp -s "$run/model.safetensors" "$tmp/whole/model.safetensors" || fail "resume after loss $n: other weights"
  resumed=$((resumed + 1))
done
[ "$resumed" -ge 2 ] || fail "only $resumed lost runs had a checkpoint to resume"
echo "device loss: $resumed runs resumed from their last checkpoint"
finish_test
