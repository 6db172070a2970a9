#!/usr/bin/env bash
# Whole-model parity with PyTorch (tools/torch_parity.py, as in
# torch_parity_test.sh) for assets/models/fashion_se.json: channel shuffle,
# squeeze-excitation and an aux head, whose weighted cross-entropy joins the
# compared training loss on both sides. 10 SGD steps; 20 with an L2 penalty
# (the squeeze-excitation weights count) and label smoothing (the aux head's
# loss too); 10 with --freeze by index and by name, where 11 is the index in
# the file's list (its aux_head entry counts, as in the tensor names).
# Skips (exit 77, tests/cli/skip.sh) only when /usr/bin/python3 cannot import torch.
# Usage: torch_parity_se_test.sh FOVEA_BINARY SOURCE_DIR
set -u
fovea=$1
src=$2
py=/usr/bin/python3
. "$src/tests/cli/skip.sh"
"$py" -c "import torch" >/dev/null 2>&1 || skip_test dep "torch missing ($py cannot import torch; python3-torch)"
fails=0
while read -r args; do
  echo "== fashion_se $args"
  # shellcheck disable=SC2086
  "$py" "$src/tools/torch_parity.py" --fovea "$fovea" --model "$src/assets/models/fashion_se.json" $args
  code=$?
  if [ "$code" -ne 0 ]; then
    echo "FAIL: torch parity for fashion_se $args (exit $code)"
    fails=$((fails + 1))
  fi
done <<'CASES'
--steps 10
--steps 20 --l2 0.01 --label-smoothing 0.1
--steps 10 --freeze 0,se1,11
CASES
[ "$fails" -eq 0 ] && echo "torch parity of fashion_se: all cases passed"
[ "$fails" -eq 0 ]
