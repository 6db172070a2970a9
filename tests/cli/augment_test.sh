#!/usr/bin/env bash
# Augmentation from the command line: bad --augment items end with one clear
# line and exit 1 (train and augment); `fovea augment` writes a PNG grid of
# the right size (originals plus --rows augmented rows) whose augmented rows
# differ from the originals and are the same for the same seed; a short
# validated training run with geometric, pixel and mixing items runs with no
# validation message and records the list in summary.json.
# Usage: augment_test.sh FOVEA_BINARY SOURCE_DIR
source "$(dirname "$0")/common.sh" "$@"
model=$src/assets/models/mlp.json
expect 1 "--augment: 'rotate:abc': the angle must be a number" -- train --model "$model" --augment flip,rotate:abc --out "$tmp/e1"
expect 1 "--augment: 'zoom:2': unknown item" -- train --model "$model" --augment zoom:2 --out "$tmp/e2"
expect 1 "--augment: 'crop': needs a value" -- augment --augment crop --out "$tmp/a.png"
expect 1 "--augment: 'erase:2': the probability" -- augment --augment erase:2 --out "$tmp/a.png"
expect 1 "--count must be in \[1, 256\]" -- augment --augment flip --count 0 --out "$tmp/a.png"
expect 2 "--augment" -- augment --out "$tmp/a.png"
for e in e1 e2; do [ -e "$tmp/$e" ] && fail "a refused run left $tmp/$e behind"; done
[ -e "$tmp/a.png" ] && fail "a refused augment wrote $tmp/a.png"

# The grid: 16 images of 28 x 28 with 2-pixel gaps: 16*28 + 17*2 = 482 wide;
# 1 + 3 rows: 4*28 + 5*2 = 122 high.
list=flip,crop:4,rotate:15,erase:0.5,mixup:0.3
"$fovea" augment --augment "$list" --count 16 --rows 3 --seed 5 --out "$tmp/a.png" >"$tmp/out" 2>"$tmp/err" \
  || fail "augment: $(cat "$tmp/err")"
"$fovea" augment --augment "$list" --count 16 --rows 3 --seed 5 --out "$tmp/b.png" >/dev/null 2>&1
"$fovea" augment --augment "$list" --count 16 --rows 3 --seed 6 --out "$tmp/c.png" >/dev/null 2>&1
"$py" - "$tmp" <<'PY' || fail "augment grid: see above"
import sys, cv2, numpy as np
tmp = sys.argv[1]
a, b, c = (cv2.imread(f"{tmp}/{n}.png", cv2.IMREAD_UNCHANGED) for n in "abc")
ok = True
if a is None or a.shape[:2] != (122, 482):
    print("grid shape", None if a is None else a.shape, "want (122, 482)"); ok = False
else:
    cell = lambda img, r: img[2 + r * 30: 2 + r * 30 + 28, 2:480].astype(int)
    for r in (1, 2, 3):
        if np.abs(cell(a, r) - cell(a, 0)).mean() < 5:
            print("row", r, "looks like the originals"); ok = False
    if np.abs(cell(a, 1) - cell(a, 2)).mean() < 5:
        print("steps 0 and 1 look alike"); ok = False
    if not np.array_equal(a, b):
        print("the same seed gave another grid"); ok = False
    if np.array_equal(a, c):
        print("another seed gave the same grid"); ok = False
    if not np.array_equal(cell(a, 0), cell(c, 0)):
        print("the originals row depends on the seed"); ok = False
sys.exit(0 if ok else 1)
PY

# A short validated run with augmentation and mixup.
"$fovea" train --model "$model" --limit 500 --epochs 1 --augment flip,crop:2,rotate:10,erase:0.5,mixup:0.2 \
  --validate --no-progress --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || fail "augmented run: $(cat "$tmp/err")"
grep -q "validation: no messages" "$tmp/err" || fail "augmented run: validation messages: $(cat "$tmp/err")"
grep -q "^augment: hflip p 0.5, crop pad 2, rotate +-deg 10, erase p 0.5, mixup alpha 0.2" "$tmp/out" \
  || fail "augmented run did not report its list: $(cat "$tmp/out")"
"$py" -c "
import json, sys
s = json.load(open(sys.argv[1]))
assert s['augment']['list'] == 'flip,crop:2,rotate:10,erase:0.5,mixup:0.2', s['augment']
assert 0 < s['test_acc'] <= 1, s['test_acc']
" "$tmp/run/summary.json" || fail "summary.json lacks the augment list"

if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "all augment CLI checks passed"
