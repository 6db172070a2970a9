#!/usr/bin/env bash
# Adversarial training and evaluation from the command line (nn/model.h's
# attack): bad specs of --augment fgsm/pgd, --test-fgsm, eval --fgsm/--pgd
# end with one line naming the value and exit 1, leaving no run directory;
# PyTorch parity (tools/torch_parity.py --augment): 3 steps of FGSM training
# on the MLP and of PGD training on a CNN with BatchNorm (attacked in eval
# mode, running statistics untouched by the attack) give the losses and
# weights of PyTorch attacking the same weights on the same batch; a
# validated run with --augment fgsm:0.05:0.5 --test-fgsm 0,0.1 puts both in
# summary.json's test_corrupted (eps 0 = the clean accuracy, 0.1 lower) and
# `fovea eval --fgsm` reproduces them; `--pgd 0.1:5` is no weaker than FGSM.
# Usage: adversarial_test.sh FOVEA_BINARY SOURCE_DIR
source "$(dirname "$0")/common.sh" "$@"
model=$src/assets/models/mlp.json

expect 1 "--augment: 'fgsm:-1': EPS \(pixel units\) must be a number in \(0, 1\], got '-1'" -- \
  train --model "$model" --augment fgsm:-1 --out "$tmp/e1"
expect 1 "--augment: 'pgd:0.1:0': STEPS must be a whole number in 1..1000, got '0'" -- \
  train --model "$model" --augment pgd:0.1:0 --out "$tmp/e2"
expect 1 "--augment: 'fgsm:0.1:2': the probability P must be a number in \(0, 1\], got '2'" -- \
  train --model "$model" --augment fgsm:0.1:2 --out "$tmp/e3"
expect 1 "--augment: 'pgd:0.1:3': fgsm and pgd exclude each other" -- \
  train --model "$model" --augment flip,fgsm:0.1,pgd:0.1:3 --out "$tmp/e4"
expect 1 "--augment: 'fgsm': needs a value" -- train --model "$model" --augment fgsm --out "$tmp/e5"
expect 1 "--test-fgsm: eps 2.0+ is outside \[0, 1\] pixel units" -- \
  train --model "$model" --test-fgsm 0.1,2 --out "$tmp/e6"
for e in e1 e2 e3 e4 e5 e6; do [ -e "$tmp/$e" ] && fail "a refused run left $tmp/$e behind"; done

if "$py" -c "import torch" >/dev/null 2>&1; then
  "$py" "$src/tools/torch_parity.py" --fovea "$fovea" --model "$model" --steps 3 --augment fgsm:0.1 \
    >"$tmp/p1" 2>&1 || fail "FGSM parity on the MLP: $(cat "$tmp/p1")"
  grep -q "parity OK" "$tmp/p1" && tail -n 3 "$tmp/p1"
  cat >"$tmp/bn.json" <<'EOF'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2, "padding": 1},
  {"type": "batchnorm2d"},
  {"type": "relu"},
  {"type": "conv2d", "out_channels": 6, "kernel": 3, "stride": 2},
  {"type": "relu"},
  {"type": "flatten"},
  {"type": "dense", "units": 10}
]}
EOF
  "$py" "$src/tools/torch_parity.py" --fovea "$fovea" --model "$tmp/bn.json" --steps 3 --batch 24 \
    --augment pgd:0.05:3 >"$tmp/p2" 2>&1 || fail "PGD parity on a BatchNorm CNN: $(cat "$tmp/p2")"
  grep -q "parity OK" "$tmp/p2" && tail -n 3 "$tmp/p2"
else
  skip_part dep "torch missing ($py cannot import torch): the PyTorch parity of adversarial training"
fi

"$fovea" train --model "$model" --limit 2000 --epochs 2 --lr 0.05 --no-progress --validate \
  --augment fgsm:0.05:0.5 --test-fgsm 0,0.1 --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || fail "run: $(cat "$tmp/err")"
grep -q "validation: no messages" "$tmp/err" || fail "run: validation messages: $(cat "$tmp/err")"
grep -q "augment: fgsm eps 0.05, p 0.5" "$tmp/out" || fail "the run did not print its attack: $(cat "$tmp/out")"
expect 1 "--fgsm '-1': EPS \(pixel units\) must be a number in \[0, 1\], got '-1'" -- eval --run "$tmp/run" --fgsm -1
expect 1 "--pgd '0.1': expected EPS:STEPS" -- eval --run "$tmp/run" --pgd 0.1
expect 1 "--fgsm and --pgd exclude each other" -- eval --run "$tmp/run" --fgsm 0.1 --pgd 0.1:2
for a in "--fgsm 0" "--fgsm 0.1" "--pgd 0.1:5"; do
  # shellcheck disable=SC2086
  "$fovea" eval --run "$tmp/run" $a --validate >"$tmp/eout" 2>"$tmp/err" || fail "eval $a: $(cat "$tmp/err")"
  grep -q "validation: no messages" "$tmp/err" || fail "eval $a: validation messages: $(cat "$tmp/err")"
  grep -q "under attack" "$tmp/eout" || fail "eval $a printed no attack line: $(cat "$tmp/eout")"
done
"$py" - "$tmp" <<'PY' || fails=$((fails + 1))
import json, sys
t = sys.argv[1]
s = json.load(open(f"{t}/run/summary.json"))
ok = True
got = [(c["corruption"], c["value"]) for c in s["test_corrupted"]]
if got != [("fgsm", 0), ("fgsm", 0.1)]:
    print(f"FAIL: test_corrupted holds {got}, want fgsm 0 and 0.1")
    sys.exit(1)
clean, zero, attacked = s["test_acc"], s["test_corrupted"][0], s["test_corrupted"][1]
e0 = json.load(open(f"{t}/run/eval-test-fgsm0.json"))
e1 = json.load(open(f"{t}/run/eval-test-fgsm0.1.json"))
pgd = json.load(open(f"{t}/run/eval-test-pgd0.1x5.json"))
print(f"clean {clean:.4f}; fgsm 0: {zero['acc']:.4f}, eval {e0['accuracy']:.4f}; fgsm 0.1: "
      f"{attacked['acc']:.4f}, eval {e1['accuracy']:.4f}; pgd 0.1 x 5: {pgd['accuracy']:.4f}")
# eps 0 keeps every value but a decoded white pixel that rounds an ulp past the
# standardised image of 1 (clipped back): the loss within 1e-6, the accuracy equal.
if zero["acc"] != clean or e0["accuracy"] != clean or abs(zero["loss"] - s["test_loss"]) > 1e-6 * s["test_loss"]:
    print(f"FAIL: an attack of eps 0 changed the test figures (loss {zero['loss']} vs {s['test_loss']})")
    ok = False
if not attacked["acc"] < clean - 0.1:
    print("FAIL: FGSM of eps 0.1 should cost the MLP more than 10 points")
    ok = False
if e1["accuracy"] != attacked["acc"] or abs(e1["loss"] - attacked["loss"]) > 1e-9 * max(1, attacked["loss"]):
    print(f"FAIL: eval --fgsm 0.1 ({e1['accuracy']}, {e1['loss']}) does not reproduce train's {attacked}")
    ok = False
if e1["attack"] != {"kind": "fgsm", "eps": 0.1, "steps": 1, "alpha": 0.1} or pgd["attack"]["steps"] != 5:
    print(f"FAIL: eval's attack fields: {e1['attack']}, {pgd['attack']}")
    ok = False
if not pgd["accuracy"] <= e1["accuracy"]:
    print("FAIL: PGD of 5 steps should be no weaker than FGSM at the same eps")
    ok = False
sys.exit(0 if ok else 1)
PY
[ "$fails" -eq 0 ] && echo "adversarial checks passed ($passes expectations)"
finish_test
