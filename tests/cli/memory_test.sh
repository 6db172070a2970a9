#!/usr/bin/env bash
# Out of device memory: a batch too large for the device, and a model that
# does not fit a heap lowered with FOVEA_LIMITS=heap=BYTES, stop `fovea
# train` before any training with one line naming the bytes needed and the
# bytes the device has, and exit 1: no crash, no run directory; a resume
# refused so leaves the run directory byte for byte as it was, and resumed
# with room the run ends as the run never interrupted.
# Usage: memory_test.sh FOVEA_BINARY SOURCE_DIR
. "$(dirname "$0")/common.sh"
. "$src/tests/cli/few_test_images.sh"
few_test_images 20
args=(train --model "$src/assets/models/mlp.json" --data "$data" --limit 300 --val-split 100 --epochs 2
      --no-progress --validate)
needs='out of device memory: .* needs [0-9]+ MiB \([0-9]+ bytes\).* has [0-9]+ MiB \([0-9]+ bytes'
# refused NAME DIR ARGS...: exit 1, one stderr line naming both byte counts, DIR absent.
refused() {
  local name=$1 dir=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local code=$?
  if [ "$code" -ne 1 ] || [ "$(grep -c '' "$tmp/err")" -ne 1 ] || ! grep -Eq -- "$needs" "$tmp/err"; then
    fail "$name: exit $code (want 1), stderr: $(cat "$tmp/err")"
  fi
  [ -e "$dir" ] && fail "$name left $dir: $(ls "$dir")"
  echo "$name: $(cat "$tmp/err")"
}
# 3,000,000 images of 784 bytes in two upload slots: 4.4 GiB before any activation.
refused "huge batch" "$tmp/huge" "$fovea" "${args[@]}" --batch 3000000 --out "$tmp/huge"
# A batch whose weights, activations and gradients pass 2 GiB (lavapipe's heap).
refused "large batch" "$tmp/large" "$fovea" "${args[@]}" --batch 600000 --out "$tmp/large"

# A lowered heap: batch 100 fits in 8 MiB, batch 2000 does not.
FOVEA_LIMITS=heap=8MiB "$fovea" "${args[@]}" --batch 100 --out "$tmp/fits" >"$tmp/fits.log" 2>&1 ||
  fail "batch 100 in an 8 MiB heap: $(cat "$tmp/fits.log")"
FOVEA_LIMITS=heap=8MiB refused "lowered heap" "$tmp/low" "$fovea" "${args[@]}" --batch 2000 --out "$tmp/low"
grep -q "lowered by FOVEA_LIMITS heap=8388608" "$tmp/err" || fail "the lowered heap's line does not say so: $(cat "$tmp/err")"
FOVEA_LIMITS=heap=12XB expect 1 "FOVEA_LIMITS: heap=12XB is not a positive byte count" -- devices
FOVEA_LIMITS=heap=0 expect 1 "FOVEA_LIMITS: heap=0 is not a positive byte count" -- devices

# A resume that does not fit: the run directory stays as it was; with room
# the run ends as the uninterrupted one (device loss stops it in epoch 2).
FOVEA_TEST_DEVICE_LOST=3 "$fovea" "${args[@]}" --batch 100 --out "$tmp/run" >/dev/null 2>&1
[ -f "$tmp/run/checkpoint.safetensors" ] || fail "no checkpoint to resume"
before=$(cd "$tmp/run" && find . -type f -exec sha256sum {} + | sort)
FOVEA_LIMITS=heap=1MiB "$fovea" train --resume "$tmp/run" --no-progress >"$tmp/out" 2>"$tmp/err"
code=$?
[ "$code" -eq 1 ] && [ "$(grep -c '' "$tmp/err")" -eq 1 ] && grep -Eq -- "$needs" "$tmp/err" ||
  fail "resume in a 1 MiB heap: exit $code, stderr: $(cat "$tmp/err")"
[ "$before" = "$(cd "$tmp/run" && find . -type f -exec sha256sum {} + | sort)" ] || fail "the refused resume changed the run"
"$fovea" train --resume "$tmp/run" --no-progress --validate >"$tmp/resume.log" 2>&1 || fail "resume: $(cat "$tmp/resume.log")"
cmp -s "$tmp/run/model.safetensors" "$tmp/fits/model.safetensors" || fail "the resumed run's weights differ from the whole run's"
finish_test
