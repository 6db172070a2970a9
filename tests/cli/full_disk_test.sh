#!/usr/bin/env bash
# A full disk during a checkpoint write: a run stopped after a checkpoint
# is resumed in a tmpfs too small for the next checkpoint (a private mount
# namespace, gone with the process). The write fails with one line naming
# the file and exit 1; the previous checkpoint stays byte for byte, no
# temporary file is left, and resumed on a roomy disk the run ends
# bit-identical to one never interrupted.
# Usage: full_disk_test.sh FOVEA_BINARY SOURCE_DIR
. "$(dirname "$0")/common.sh"
. "$src/tests/cli/few_test_images.sh"
few_test_images 50
unshare -m true 2>/dev/null || skip_test hw "cannot make a mount namespace for a small tmpfs (needs root)"
args=(train --model "$src/assets/models/mlp.json" --data "$data" --limit 500 --val-split 100 --batch 100
      --epochs 3 --no-progress)
"$fovea" "${args[@]}" --out "$tmp/whole" >"$tmp/whole.log" 2>&1 || fail "uninterrupted run: $(cat "$tmp/whole.log")"
# Stopped in epoch 2 (a lost device at submission 9) with a checkpoint on disk.
FOVEA_TEST_DEVICE_LOST=9 "$fovea" "${args[@]}" --out "$tmp/run" >/dev/null 2>&1
[ -f "$tmp/run/checkpoint.safetensors" ] || fail "no checkpoint to resume"
cp -a "$tmp/run" "$tmp/before"
# Room for the run's files and 256 KiB more: the next checkpoint (1.6 MB) does not fit.
room=$(( $(du -sk "$tmp/run" | cut -f1) + 256 ))
mkdir -p "$tmp/mnt"
unshare -m bash -c '
  mount -t tmpfs -o size='"$room"'k tmpfs "$1" || exit 99
  cp -a "$2" "$1/run" || exit 98
  "$3" train --resume "$1/run" --no-progress >"$4/full.out" 2>"$4/full.err"
  echo $? >"$4/full.code"
  cp -a "$1/run" "$4/after"' _ "$tmp/mnt" "$tmp/run" "$fovea" "$tmp"
code=$(cat "$tmp/full.code" 2>/dev/null || echo none)
[ "$code" = 1 ] || fail "resume on a full disk: exit $code, want 1: $(cat "$tmp/full.err" 2>/dev/null)"
if [ "$(wc -l <"$tmp/full.err")" -ne 1 ] || ! grep -Eq "safetensors.*No space left on device" "$tmp/full.err"; then
  fail "full disk: not one line naming the file and the cause: $(cat "$tmp/full.err")"
fi
cmp -s "$tmp/before/checkpoint.safetensors" "$tmp/after/checkpoint.safetensors" || fail "the checkpoint changed"
cmp -s "$tmp/before/model.safetensors" "$tmp/after/model.safetensors" || fail "model.safetensors changed"
leftover=$(find "$tmp/after" -name '*.tmp*' -o -name '.*' -type f | head -3)
[ -z "$leftover" ] || fail "temporary files left: $leftover"
"$fovea" train --resume "$tmp/after" --no-progress >"$tmp/resume.log" 2>&1 || fail "resume after the full disk: $(cat "$tmp/resume.log")"
cmp -s "$tmp/after/model.safetensors" "$tmp/whole/model.safetensors" || fail "resumed run: other weights than the uninterrupted one"
echo "full disk: $(cat "$tmp/full.err")"
finish_test
