#!/usr/bin/env bash
# Data-parallel training (mpirun -np 2 on one machine, both ranks on
# lavapipe): the same run with one process and with two ends with the same
# weights (to 1e-5 relative, per tensor: the gradient sums differ only in
# summation order) and training losses, with one set of files recording
# world_size; a two-rank run stopped and resumed with two ranks ends
# bit-identical to the uninterrupted one; with BatchNorm, --sync-bn on two
# ranks equals one process (weights and running statistics to 1e-5) while
# per-rank statistics do not, and --sync-bn on one process changes nothing;
# random layers and augmentation draw by the global row, so a run with them
# equals one process too;
# a global batch that does not divide, fovea cv, a resume with another
# number of ranks and a bad device on one rank stop every rank with a clear
# line (and never hang: every mpirun has a timeout).
# Usage: mpi_test.sh FOVEA_BINARY SOURCE_DIR
. "$(dirname "$0")/common.sh"
# The tests run as root (CI); OpenMPI refuses root unless told. Shared memory
# only: the container may have no network.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { timeout 300 mpirun --oversubscribe "$@"; }

# A conv net without random layers or BatchNorm; 991 training images in
# batches of 64 end with a batch of 31 rows, split 15 / 16 between the ranks.
cat >"$tmp/model.json" <<'JSON'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 5, "kernel": 3, "padding": 1}, {"type": "relu"},
  {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
  {"type": "dense", "units": 24}, {"type": "relu"}, {"type": "dense", "units": 10}]}
JSON
args=(train --model "$tmp/model.json" --limit 1091 --val-split 100 --epochs 2 --seed 5
      --optimizer adam --lr 0.003 --validate --no-progress)

timeout 300 "$fovea" "${args[@]}" --batch 64 --out "$tmp/one" >"$tmp/one.out" 2>&1 || fail "one process: $(cat "$tmp/one.out")"
mpi -np 2 "$fovea" "${args[@]}" --batch 64 --out "$tmp/two" >"$tmp/two.out" 2>&1 || fail "two ranks: $(cat "$tmp/two.out")"
grep -q "validation: no messages" "$tmp/two.out" || fail "two ranks: no clean validation report"
"$py" - "$tmp/one" "$tmp/two" <<'PY' || fail "two ranks differ from one process"
import json, struct, sys
import numpy as np
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], np.float32)
            for k, v in head.items() if k != "__metadata__"}
one, two = (tensors(d + "/model.safetensors") for d in sys.argv[1:3])
assert one.keys() == two.keys() and len(one) == 6, (one.keys(), two.keys())
start = tensors(sys.argv[1] + "/checkpoint.safetensors")  # the final checkpoint: the same weights
worst = 0.0
for k in one:
    scale = np.abs(one[k]).max()
    err = np.abs(one[k] - two[k]).max() / scale
    worst = max(worst, err)
    assert err <= 1e-5, (k, err)
    assert np.abs(one[k] - start[k]).max() == 0, k
print("final weights: largest difference %.2e of the tensor's largest weight" % worst)
lines = [[json.loads(l) for l in open(d + "/metrics.jsonl")] for d in sys.argv[1:3]]
assert len(lines[0]) == len(lines[1]) == 2
for a, b in zip(*lines):
    assert abs(a["train_loss"] - b["train_loss"]) <= 1e-5 * abs(a["train_loss"]), (a, b)
    assert a["train_images"] == b["train_images"] == 991
    assert "allreduce_seconds" in b and "allreduce_seconds" not in a
    assert a["train_loss"] > 0.1  # a real loss, not an empty pass
s1, s2 = (json.load(open(d + "/summary.json")) for d in sys.argv[1:3])
assert s1["world_size"] == 1 and s2["world_size"] == 2, (s1["world_size"], s2["world_size"])
assert s1["test_images"] == s2["test_images"] == 10000
assert sum(map(sum, s2["test_confusion"])) == 10000
assert abs(s1["test_acc"] - s2["test_acc"]) <= 2e-4, (s1["test_acc"], s2["test_acc"])
PY
# Rank 1 printed nothing: one line per epoch.
[ "$(grep -c '^epoch ' "$tmp/two.out")" -eq 2 ] || fail "two ranks: not one progress line per epoch: $(cat "$tmp/two.out")"

# Resume with the same number of ranks: the two-rank run killed (timeout,
# mpirun and both ranks, SIGKILL) after epoch 1's checkpoint and resumed with
# -np 2 ends with the uninterrupted run's weights, bit for bit.
timeout 300 mpirun --oversubscribe -np 2 "$fovea" "${args[@]}" --batch 64 --out "$tmp/cut" >"$tmp/cut.out" 2>&1 &
pid=$!
for _ in $(seq 600); do
  [ "$(grep -c '' "$tmp/cut/metrics.jsonl" 2>/dev/null)" = 1 ] && break
  sleep 0.1
done
# The process and its descendants, children first (from /proc: no procps needed).
tree() {
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done
  echo "$1"
}
pids=$(tree "$pid")
kill -KILL $pids 2>/dev/null
wait "$pid" 2>/dev/null
# Gone (or a zombie) before the resume starts: a rank still running would write on.
for p in $pids; do
  for _ in $(seq 100); do
    [ -r /proc/"$p"/stat ] || break
    [ "$(cut -d' ' -f3 /proc/"$p"/stat 2>/dev/null)" = Z ] && break
    sleep 0.1
  done
done
if [ -e "$tmp/cut/summary.json" ]; then
  fail "the run to resume finished before it was stopped"
else
  mpi -np 2 "$fovea" train --resume "$tmp/cut" --validate --no-progress >"$tmp/resume.out" 2>&1 ||
    fail "resume with two ranks: $(cat "$tmp/resume.out")"
  cmp -s "$tmp/cut/model.safetensors" "$tmp/two/model.safetensors" ||
    fail "the resumed two-rank run ends with other weights than the uninterrupted one"
fi

# The sections below: the training files as they are and 200 test images,
# so the end-of-run evaluation takes seconds.
. "$src/tests/cli/few_test_images.sh"
few_test_images 200

# weights.py for the checks below: a run's tensors (float64) and the largest
# difference of two tensors relative to the first's largest magnitude.
cat >"$tmp/weights.py" <<'PY'
import json, struct
import numpy as np
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                             {"F32": np.float32, "I64": np.int64}[v["dtype"]]).astype(np.float64)
            for k, v in head.items() if k != "__metadata__"}
def err(a, b): return np.abs(a - b).max() / max(np.abs(a).max(), 1e-30)
# The final weights of runs one (1 process) and two (2 ranks): `count`
# tensors, equal to 1e-5 relative; returns the largest difference.
def same_weights(one_dir, two_dir, count):
    one, two = (tensors(d + "/model.safetensors") for d in (one_dir, two_dir))
    assert one.keys() == two.keys() and len(one) == count, one.keys()
    worst = max(err(one[k], two[k]) for k in one)
    assert worst <= 1e-5, worst
    return worst
PY

# Synchronised BatchNorm: batchnorm2d and batchnorm1d (biases before them
# left out: their true gradient is 0, so they would follow rounding noise),
# plain SGD (Adam's division by sqrt(v) blows near-zero gradients' rounding
# up); 300 training images in batches of 64 end with 44 rows, 22 per rank.
cat >"$tmp/bn.json" <<'JSON'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 5, "kernel": 3, "padding": 1, "bias": false}, {"type": "batchnorm2d"},
  {"type": "relu"}, {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
  {"type": "dense", "units": 24, "bias": false}, {"type": "batchnorm1d"}, {"type": "relu"},
  {"type": "dense", "units": 10}]}
JSON
bn=(train --model "$tmp/bn.json" --data "$data" --limit 400 --val-split 100 --epochs 1 --seed 5 --optimizer sgd --lr 0.05
    --batch 64 --no-progress)
timeout 300 "$fovea" "${bn[@]}" --out "$tmp/bn1" >"$tmp/bn1.out" 2>&1 || fail "batchnorm, one process: $(cat "$tmp/bn1.out")"
timeout 300 "$fovea" "${bn[@]}" --sync-bn --out "$tmp/bn1s" >"$tmp/bn1s.out" 2>&1 ||
  fail "batchnorm, one process, --sync-bn: $(cat "$tmp/bn1s.out")"
cmp -s "$tmp/bn1/model.safetensors" "$tmp/bn1s/model.safetensors" || fail "--sync-bn changed a one-process run"
mpi -np 2 "$fovea" "${bn[@]}" --sync-bn --validate --out "$tmp/bn2s" >"$tmp/bn2s.out" 2>&1 ||
  fail "batchnorm, two ranks, --sync-bn: $(cat "$tmp/bn2s.out")"
grep -q "validation: no messages" "$tmp/bn2s.out" || fail "--sync-bn: no clean validation report"
mpi -np 2 "$fovea" "${bn[@]}" --out "$tmp/bn2" >"$tmp/bn2.out" 2>&1 || fail "batchnorm, two ranks: $(cat "$tmp/bn2.out")"
"$py" - "$tmp" "$tmp/bn1" "$tmp/bn2s" "$tmp/bn2" <<'PY' || fail "--sync-bn: two ranks differ from one process"
import sys
sys.path.insert(0, sys.argv[1])
from weights import *
one, synced, own = (tensors(d + "/model.safetensors") for d in sys.argv[2:5])
assert one.keys() == synced.keys() == own.keys() and "1.running_var" in one and "6.running_mean" in one
worst = max(err(one[k], synced[k]) for k in one)
assert worst <= 1e-5, {k: err(one[k], synced[k]) for k in one}
# Per-rank statistics: another model (running statistics, and through them the weights).
apart = max(err(one[k], own[k]) for k in one)
assert apart > 1e-3, apart
print("--sync-bn: largest difference %.2e (per-rank statistics: %.2e)" % (worst, apart))
PY

# Random layers (dropout2d, dropout) and augmentation (geometry, erase,
# noise) keyed by the global row: two ranks draw what one process draws.
# 200 training images in batches of 64 end with 8 rows, 4 per rank. (The ranks' forward
# values can differ from one process's in the last bit, where a kernel's
# tiling follows the batch; rarely that moves a max-pooling winner: seed 7
# here ends 5e-5 apart in one tensor, seeds 5 and 9 1.7e-7.)
rnd=(train --model "$src/assets/models/fashion_cnn_dropout.json" --data "$data" --limit 300 --val-split 100
     --epochs 1 --seed 5 --optimizer sgd --lr 0.05 --batch 64 --no-progress
     --augment hflip,crop:2,rotate:10,noise:0.05,erase)
timeout 300 "$fovea" "${rnd[@]}" --out "$tmp/rnd1" >"$tmp/rnd1.out" 2>&1 || fail "dropout, one process: $(cat "$tmp/rnd1.out")"
mpi -np 2 "$fovea" "${rnd[@]}" --out "$tmp/rnd2" >"$tmp/rnd2.out" 2>&1 || fail "dropout, two ranks: $(cat "$tmp/rnd2.out")"
"$py" - "$tmp" "$tmp/rnd1" "$tmp/rnd2" <<'PY' || fail "dropout and augmentation: two ranks differ from one process"
import sys
sys.path.insert(0, sys.argv[1])
from weights import *
worst = same_weights(sys.argv[2], sys.argv[3], 8)
a, b = ([json.loads(l) for l in open(d + "/metrics.jsonl")] for d in sys.argv[2:4])
assert abs(a[0]["train_loss"] - b[0]["train_loss"]) <= 1e-5 * a[0]["train_loss"], (a, b)
print("dropout and augmentation: largest difference %.2e" % worst)
PY
# The other random layers: stochastic depth, max-drop, pooling dropout (max
# and average), fractional max pooling, gaussian and alpha dropout.
cat >"$tmp/random.json" <<'JSON'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1}, {"type": "relu", "name": "r1"},
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "name": "c2"},
  {"type": "add", "inputs": ["r1", "c2"], "stochastic_depth": 0.3},
  {"type": "max_drop", "p": 0.3}, {"type": "maxpool_dropout", "kernel": 2, "p": 0.2},
  {"type": "fractional_maxpool2d", "output_ratio": 0.7}, {"type": "avgpool_dropout", "kernel": 2, "p": 0.2},
  {"type": "flatten"}, {"type": "gaussian_dropout", "p": 0.2}, {"type": "alpha_dropout", "p": 0.1},
  {"type": "dense", "units": 10}]}
JSON
rl=(train --model "$tmp/random.json" --data "$data" --limit 300 --val-split 100 --epochs 1 --seed 5
    --optimizer sgd --lr 0.05 --batch 64 --no-progress)
timeout 300 "$fovea" "${rl[@]}" --out "$tmp/rl1" >"$tmp/rl1.out" 2>&1 || fail "random layers, one process: $(cat "$tmp/rl1.out")"
mpi -np 2 "$fovea" "${rl[@]}" --validate --out "$tmp/rl2" >"$tmp/rl2.out" 2>&1 ||
  fail "random layers, two ranks: $(cat "$tmp/rl2.out")"
"$py" - "$tmp" "$tmp/rl1" "$tmp/rl2" <<'PY' || fail "random layers: two ranks differ from one process"
import sys
sys.path.insert(0, sys.argv[1])
from weights import *
worst = same_weights(sys.argv[2], sys.argv[3], 6)
print("the other random layers: largest difference %.2e" % worst)
PY

# mpi_expect PATTERN -- MPIRUN-ARGS: a non-zero exit within the timeout, with
# a stderr line matching PATTERN.
mpi_expect() {
  local pattern=$1
  shift 2
  mpi "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq 0 ] || [ "$got" -eq 124 ] || ! grep -Eq -- "$pattern" "$tmp/err"; then
    echo "FAIL: mpirun $* -> exit $got (0: no error; 124: a hang), want /$pattern/:"
    sed 's/^/    /' "$tmp/err"
    fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
}
mpi_expect "--batch 63 is the global batch and must divide evenly among the 2 ranks" -- \
  -np 2 "$fovea" "${args[@]}" --batch 63 --out "$tmp/odd"
[ -e "$tmp/odd" ] && fail "a refused run left $tmp/odd behind"
# Rank 1 cannot open its device; rank 0 would wait in the all-reduce for ever.
mpi_expect "rank 1 of 2: device 7 does not exist" -- \
  -np 1 "$fovea" "${args[@]}" --batch 64 --out "$tmp/bad" : -np 1 "$fovea" "${args[@]}" --batch 64 --device 7 --out "$tmp/bad"
mpi_expect "fovea cv does not run data-parallel" -- \
  -np 2 "$fovea" cv --model "$tmp/model.json" --protocol kfold --limit 100 --out "$tmp/cv"
expect 1 "trained by 2 rank\(s\); resume it with as many \(mpirun -np 2\), not 1" -- train --resume "$tmp/two"

echo "mpi_test: $passes checks passed, $fails failed"
[ "$fails" -eq 0 ]
