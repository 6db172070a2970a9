#!/usr/bin/env bash
# Progressive sharpening from the command line: bad schedules and sigmas end
# with one clear line and exit 1; the issue's example (step, sigma0 3, 3
# levels over 3 of 4 epochs) reports blur_sigma 3, 2, 1, 0 under the
# validation layer; a constant large sigma visibly lowers accuracy on the
# original test images (the blur is real), while --sharpen-replay 1 (every
# row original) reproduces the unblurred run exactly; the robustness
# evaluations land in summary.json; `fovea blur` writes a PNG grid of the
# right size, enlarged and labelled by default.
# Usage: sharpen_test.sh FOVEA_BINARY SOURCE_DIR
source "$(dirname "$0")/common.sh" "$@"
model=$src/assets/models/mlp.json
expect 1 "--sharpen: unknown schedule 'blurry'" -- train --model "$model" --sharpen blurry --out "$tmp/e1"
expect 1 "--sigma0 must be in \[0, 20\]" -- train --model "$model" --sharpen step --sigma0 40 --out "$tmp/e2"
expect 1 "--sharpen-replay" -- train --model "$model" --sharpen step --sharpen-replay 2 --out "$tmp/e3"
expect 1 "--sharpen list:3,x: sigma: 'x'" -- train --model "$model" --sharpen list:3,x --out "$tmp/e4"
expect 1 "--sharpen-epochs must be at least 1" -- train --model "$model" --sharpen cosine --sharpen-epochs 0 --out "$tmp/e5"
expect 1 "--test-blur" -- train --model "$model" --test-blur 1,50 --out "$tmp/e6"
expect 1 "--sigma: -1" -- blur --sigma 0,-1 --out "$tmp/b.png"
expect 1 "--count" -- blur --count 0 --out "$tmp/b.png"
expect 1 "$tmp/no/such/dir/b.png" -- blur --out "$tmp/no/such/dir/b.png"
expect 2 "--out" -- blur --sigma 1
for e in e1 e2 e3 e4 e5 e6; do [ -e "$tmp/$e" ] && fail "a refused run left $tmp/$e behind"; done

# The issue's example, validated.
"$fovea" train --model "$model" --limit 600 --epochs 4 --sharpen step --sigma0 3 --levels 3 \
  --sharpen-epochs 3 --validate --out "$tmp/step" >"$tmp/out" 2>"$tmp/err" || fail "step run: $(cat "$tmp/err")"
grep -q "validation: no messages" "$tmp/err" || fail "step run: validation messages: $(cat "$tmp/err")"
sigmas=$("$py" -c "import json,sys; print(' '.join('%g' % json.loads(l)['blur_sigma'] for l in open(sys.argv[1])))" "$tmp/step/metrics.jsonl")
[ "$sigmas" = "3 2 1 0" ] || fail "step schedule reported blur_sigma '$sigmas', want '3 2 1 0'"

# The blur is real: constant sigma 4 costs accuracy on the originals;
# replaying every row unblurred is exactly the plain run.
common=(--model "$model" --limit 5000 --epochs 2 --lr 0.05 --no-progress)
"$fovea" train "${common[@]}" --out "$tmp/plain" --test-blur 1,2 --test-noise 0.1,0.2 >/dev/null 2>"$tmp/err" || fail "plain run: $(cat "$tmp/err")"
"$fovea" train "${common[@]}" --sharpen constant --sigma0 4 --out "$tmp/const" >/dev/null 2>"$tmp/err" || fail "constant run: $(cat "$tmp/err")"
"$fovea" train "${common[@]}" --sharpen constant --sigma0 4 --sharpen-replay 1 --out "$tmp/replay" >/dev/null 2>"$tmp/err" || fail "replay run: $(cat "$tmp/err")"
"$py" - "$tmp" <<'PY' || fails=$((fails + 1))
import json, sys
t = sys.argv[1]
s = {k: json.load(open(f"{t}/{k}/summary.json")) for k in ("plain", "const", "replay")}
plain, const, replay = (s[k]["test_acc"] for k in ("plain", "const", "replay"))
ok = True
if not plain - const >= 0.03:
    print(f"FAIL: constant sigma 4 test accuracy {const:.4f} is not clearly below the plain run's {plain:.4f}")
    ok = False
if replay != plain:
    print(f"FAIL: --sharpen-replay 1 gave {replay}, the plain run {plain} (should be identical)")
    ok = False
corr = [(c["corruption"], c["value"]) for c in s["plain"]["test_corrupted"]]
if corr != [("blur", 1), ("blur", 2), ("noise", 0.1), ("noise", 0.2)]:
    print(f"FAIL: test_corrupted holds {corr}")
    ok = False
accs = {(c["corruption"], c["value"]): c["acc"] for c in s["plain"]["test_corrupted"]}
if not (plain > accs[("blur", 1)] > accs[("blur", 2)] and plain > accs[("noise", 0.2)]):
    print(f"FAIL: corrupted accuracies {accs} do not fall below the clean {plain}")
    ok = False
print(f"plain {plain:.4f}, constant sigma 4 {const:.4f}, corrupted {accs}")
sys.exit(0 if ok else 1)
PY

# fovea blur: by default the grid enlarged 4 times (nearest pixel) with a
# margin of sigma labels; --scale 1 --no-labels is the plain grid, 8 x 28 +
# 9 x 2 by 4 x 28 + 5 x 2 pixels, and the default's grid part is exactly
# that grid enlarged.
"$fovea" blur --sigma 0,1,2,4 --count 8 --scale 1 --no-labels --out "$tmp/grid.png" >"$tmp/out" 2>"$tmp/err" ||
  fail "blur: $(cat "$tmp/err")"
"$fovea" blur --sigma 0,1,2,4 --count 8 --pyramid --split test --scale 1 --no-labels --out "$tmp/pyr.png" >/dev/null 2>&1 ||
  fail "blur --pyramid"
"$fovea" blur --sigma 0,0.6666667,1.5,4 --count 8 --out "$tmp/big.png" >"$tmp/out" 2>"$tmp/err" ||
  fail "blur, scaled and labelled: $(cat "$tmp/err")"
"$fovea" blur --sigma 0,0.6666667,1.5,4 --count 8 --scale 1 --no-labels --out "$tmp/small.png" >/dev/null 2>&1 ||
  fail "blur --scale 1 --no-labels"
expect 1 "--scale must be in \[1, 16\], got 0" -- blur --scale 0 --out "$tmp/b.png"
"$py" - "$tmp/grid.png" "$tmp/pyr.png" "$tmp/big.png" "$tmp/small.png" <<'PY' || fails=$((fails + 1))
import struct, sys, zlib

def read_png(path):
    """8-bit grey or RGB, as rows of pixel tuples."""
    b = open(path, "rb").read()
    if b[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"FAIL: {path} is not a PNG")
    at, idat, w = 8, b"", 0
    while at < len(b):
        n, kind = struct.unpack(">I4s", b[at:at + 8])
        body = b[at + 8:at + 8 + n]
        if kind == b"IHDR":
            w, h, depth, color = struct.unpack(">IIBB", body[:10])
            c = {0: 1, 2: 3}[color]
        elif kind == b"IDAT":
            idat += body
        at += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], bytearray(w * c)
    for y in range(h):
        f, line = raw[y * (w * c + 1)], bytearray(raw[y * (w * c + 1) + 1:(y + 1) * (w * c + 1)])
        for i in range(len(line)):
            a = line[i - c] if i >= c else 0
            up, ul = prev[i], (prev[i - c] if i >= c else 0)
            pred = [0, a, up, (a + up) // 2,
                    min((a, up, ul), key=lambda v: (abs(a + up - ul - v), [a, up, ul].index(v)))][f]
            line[i] = (line[i] + pred) & 255
        rows.append([tuple(line[x * c:(x + 1) * c]) for x in range(w)])
        prev = line
    return rows

grid, pyr, big, small = (read_png(p) for p in sys.argv[1:])
for name, img in (("grid", grid), ("pyramid", pyr)):
    if (len(img[0]), len(img)) != (242, 122):
        sys.exit(f"FAIL: {name} is {len(img[0])}x{len(img)}, want 242x122")
k, margin = 4, len(big[0]) - 4 * 242
if len(big) != 4 * 122 or margin <= 0:
    sys.exit(f"FAIL: the labelled grid is {len(big[0])}x{len(big)}, want 968 + a margin by 488")
if any(big[y][margin + x] != small[y // k][x // k] for y in range(len(big)) for x in range(4 * 242)):
    sys.exit("FAIL: the labelled grid's images are not the plain grid enlarged 4 times")
# A label in each row's band (rows at 2 + 30 r, 28 high, before scaling), white on the grid's grey.
bands = []
for r in range(4):
    band = [row[:margin] for row in big[k * (2 + 30 * r):k * (2 + 30 * r + 28)]]
    white = sum(p == (255,) for row in band for p in row)
    if white < 20:
        sys.exit(f"FAIL: row {r}'s band has {white} white pixels: no label drawn")
    bands.append(band)
if len(set(str(b) for b in bands)) != 4:
    sys.exit("FAIL: the four rows' labels are not all different")
if any(p != big[0][0] for row in big[:k * 2] for p in row[:margin]):
    sys.exit("FAIL: the margin above the first row is not plain background")
PY

if [ "$fails" -ne 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "sharpening CLI checks passed"
