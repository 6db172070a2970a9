#!/usr/bin/env bash
# Data-parallel determinism for any seed, not a chosen one: for seeds 0..9,
# the conv net of mpi_test.sh trained 2 epochs with Adam (lr 0.003, batch 64,
# 991 images: 16 steps, the last batch split 15 / 16) by one process and by
# `mpirun -np 2` ends with every tensor within 1e-5 relative (max |diff| /
# max |value|), and SGD runs of seeds 7 and 8 too. Prints each seed's
# worst tensor (docs/reliability.md holds the figures and why they differ
# at all: the gradient is summed in another order).
# Usage: mpi_seeds_test.sh FOVEA_BINARY SOURCE_DIR
. "$(dirname "$0")/common.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
command -v mpirun >/dev/null || skip_test dep "mpirun missing (openmpi-bin)"
. "$src/tests/cli/few_test_images.sh"
few_test_images 100  # the end-of-run evaluation in seconds
cat >"$tmp/model.json" <<'JSON'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 5, "kernel": 3, "padding": 1}, {"type": "relu"},
  {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
  {"type": "dense", "units": 24}, {"type": "relu"}, {"type": "dense", "units": 10}]}
JSON
for optimizer in "adam --lr 0.003" "sgd --lr 0.05"; do
  seeds="0 1 2 3 4 5 6 7 8 9"
  [ "$optimizer" = "adam --lr 0.003" ] || seeds="7 8"  # SGD: the two seeds Adam puts furthest apart
  for seed in $seeds; do
    # shellcheck disable=SC2206
    args=(train --model "$tmp/model.json" --data "$data" --limit 1091 --val-split 100 --epochs 2 --seed "$seed" --batch 64
          --optimizer $optimizer --no-progress)
    run="$tmp/${optimizer%% *}-$seed"
    timeout 300 "$fovea" "${args[@]}" --out "$run-one" >"$run.log" 2>&1 || { fail "seed $seed one process: $(cat "$run.log")"; continue; }
    timeout 300 mpirun --oversubscribe -np 2 "$fovea" "${args[@]}" --out "$run-two" >"$run.log" 2>&1 ||
      { fail "seed $seed two ranks: $(cat "$run.log")"; continue; }
    "$py" - "$run-one/model.safetensors" "$run-two/model.safetensors" "${optimizer%% *} seed $seed" <<'PY' || fail "${optimizer%% *} seed $seed"
import json, struct, sys
import numpy as np
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], np.float32)
            for k, v in json.loads(raw[8:8 + n]).items() if k != "__metadata__"}
one, two = tensors(sys.argv[1]), tensors(sys.argv[2])
assert one.keys() == two.keys() and len(one) == 6
err = {k: float(np.abs(one[k] - two[k]).max() / np.abs(one[k]).max()) for k in one}
worst = max(err, key=err.get)
print(f"{sys.argv[3]}: worst {err[worst]:.2e} ({worst})")
sys.exit(err[worst] > 1e-5 or any(not np.any(one[k]) for k in one))
PY
  done
done
finish_test
