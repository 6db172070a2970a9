#!/usr/bin/env bash
# `fovea sharpness`: stdout is exactly one JSON object with every field;
# bad options and run directories are one-line errors; `fovea train
# --sharpness-every` logs the same figure per epoch; and on fashion_cnn and
# fashion_resnet (each trained briefly) the top eigenvalues agree with
# PyTorch's autograd double backward within 2 % and the Jacobian norm within
# 10 % (tools/sharpness_check.py; 64 and 16 images). Skips the PyTorch part (not the
# rest) when /usr/bin/python3 cannot import torch.
# Usage: sharpness_test.sh FOVEA_BINARY SOURCE_DIR
. "$(dirname "$0")/common.sh"

# The training files as they are, the first 500 test images.
. "$src/tests/cli/few_test_images.sh"
few_test_images 500

train() {  # train NAME MODEL ARGS...
  local name=$1 model=$2
  shift 2
  if ! "$fovea" train --model "$model" --data "$data" --epochs 1 --no-progress --val-split 0 --out "$tmp/$name" \
       "$@" >"$tmp/$name.log" 2>&1; then
    echo "FAIL: training $name"; sed 's/^/    /' "$tmp/$name.log"; fails=$((fails + 1)); return 1
  fi
}
train cnn "$src/assets/models/fashion_cnn.json" --limit 512 --batch 64 --lr 0.05
train resnet "$src/assets/models/fashion_resnet.json" --limit 256 --batch 64 --lr 0.05

# Errors: one line naming the option or the directory, exit 1 (2 for the command line).
expect 2 "--run is required" -- sharpness
expect 1 "run directory $tmp/none does not exist" -- sharpness --run "$tmp/none"
expect 1 "--method must be lanczos or power, got 'qr'" -- sharpness --run "$tmp/cnn" --method qr
expect 1 "--images must be at least 1" -- sharpness --run "$tmp/cnn" --images 0
expect 1 "--top 2 needs --method lanczos" -- sharpness --run "$tmp/cnn" --method power --top 2
expect 1 "--tolerance .* is not in \(0, 1\)" -- sharpness --run "$tmp/cnn" --tolerance 0
expect 1 "--step .* is not in \(0, 0.1\]" -- sharpness --run "$tmp/cnn" --step -1
expect 1 "--images 70000 is more than the 60000 training images" -- sharpness --run "$tmp/cnn" --images 70000

# stdout: one JSON object with every field, and nothing else; power
# iteration agrees with Lanczos on the top eigenvalue.
if "$fovea" sharpness --run "$tmp/cnn" --images 32 --top 2 --trace-probes 3 --jacobian-probes 2 \
     >"$tmp/lanczos.json" 2>"$tmp/lanczos.err" &&
   "$fovea" sharpness --run "$tmp/cnn" --images 32 --method power --max-iterations 100 --trace-probes 0 \
     --jacobian-probes 0 >"$tmp/power.json" 2>"$tmp/power.err"; then
  if "$py" - "$tmp/lanczos.json" "$tmp/power.json" <<'PY'
import json, sys
texts = [open(p).read() for p in sys.argv[1:3]]
for t in texts:
    assert t.count("\n") == 1 and t.endswith("\n"), f"stdout is not one line: {t!r}"
l, p = (json.loads(t) for t in texts)
want = {"lambda_max", "top", "trace", "trace_se", "jacobian_fro", "iterations", "converged", "hvps", "loss",
        "images", "method", "seconds"}
assert set(l) == want and set(p) == want, f"fields {sorted(l)} / {sorted(p)}"
assert l["method"] == "lanczos" and p["method"] == "power" and l["images"] == 32
assert len(l["top"]) == 2 and l["top"][0] >= l["top"][1] > 0 and l["top"][0] == l["lambda_max"]
assert l["trace"] > 0 and l["trace_se"] > 0 and l["jacobian_fro"] > 0 and l["hvps"] == l["iterations"] + 3
assert p["trace"] is None and p["jacobian_fro"] is None and p["converged"]
rel = abs(l["lambda_max"] - p["lambda_max"]) / l["lambda_max"]
assert rel < 1e-2, f"lanczos {l['lambda_max']} vs power {p['lambda_max']}"
print(f"lanczos {l['lambda_max']:.5g} ({l['iterations']} steps), power {p['lambda_max']:.5g} "
      f"({p['iterations']} iterations), trace {l['trace']:.4g} +- {l['trace_se']:.3g}, "
      f"jacobian_fro {l['jacobian_fro']:.4g}")
PY
  then passes=$((passes + 1)); else fail "sharpness output"; fi
else
  fail "fovea sharpness failed:"; cat "$tmp/lanczos.err" "$tmp/power.err"
fi

# fovea train --sharpness-every 2: epochs 2 and 4 log sharpness and 2 / lr,
# the others neither; the probe's figure is fovea sharpness's on the same
# weights (the final ones, epoch 4), and the report plots both.
expect 1 "--sharpness-images 0 is not in \[1, 60000\]" -- train --model "$src/assets/models/mlp.json" --data "$data" \
  --sharpness-every 1 --sharpness-images 0 --out "$tmp/bad"
if "$fovea" train --model "$src/assets/models/mlp.json" --data "$data" --epochs 4 --limit 256 --batch 64 --val-split 0 \
     --lr 0.1 --lr-schedule step --lr-step-size 3 --lr-gamma 0.5 --sharpness-every 2 --sharpness-images 48 \
     --no-progress --out "$tmp/every" >"$tmp/every.log" 2>&1 &&
   "$fovea" sharpness --run "$tmp/every" --images 48 --trace-probes 0 --jacobian-probes 0 >"$tmp/every.json" 2>/dev/null; then
  if "$py" - "$tmp/every/metrics.jsonl" "$tmp/every.json" "$tmp/every/report.html" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
probe = json.loads(open(sys.argv[2]).read())
assert [("sharpness" in l, "two_over_lr" in l) for l in lines] == [(False, False), (True, True)] * 2, lines
assert [l["two_over_lr"] for l in lines[1::2]] == [2 / 0.1, 2 / 0.05], lines
rel = abs(lines[3]["sharpness"] - probe["lambda_max"]) / probe["lambda_max"]
assert rel < 1e-3, (lines[3]["sharpness"], probe["lambda_max"])
page = open(sys.argv[3]).read()
assert "2 / lr" in page and "not measured" not in page
print(f"sharpness after epochs 2, 4: {lines[1]['sharpness']:.4g}, {lines[3]['sharpness']:.4g}; fovea sharpness {probe['lambda_max']:.4g}")
PY
  then passes=$((passes + 1)); else fail "train --sharpness-every"; fi
else
  fail "train --sharpness-every failed:"; cat "$tmp/every.log"
fi

if "$py" -c "import torch" >/dev/null 2>&1; then
  # fashion_resnet on 16 images: its probe model is then built at batch 16
  # (fovea sharpness takes min(the run's batch, --images)), four times less
  # work than 64 on both sides, and the Hessian of any batch checks the same
  # products.
  for run in cnn:64 resnet:16; do
    echo "== ${run%:*} against PyTorch (${run#*:} images)"
    if "$py" "$src/tools/sharpness_check.py" --fovea "$fovea" --run "$tmp/${run%:*}" --images "${run#*:}" --top 2; then
      passes=$((passes + 1))
    else
      fail "sharpness_check.py on ${run%:*}"
    fi
  done
else
  skip_part dep "the PyTorch comparison: $py cannot import torch (python3-torch)"
fi

echo "sharpness: $passes passed, $fails failed"
finish_test
