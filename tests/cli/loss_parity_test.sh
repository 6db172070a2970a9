#!/usr/bin/env bash
# Every loss against PyTorch: tools/torch_parity.py trains the MLP on one
# batch for 10 SGD steps in Fovea and in PyTorch from the same weights with
# nn.CrossEntropyLoss(label_smoothing=0.1) (set in the spec, and by
# --label-smoothing over a spec without it), nn.MSELoss and
# nn.BCEWithLogitsLoss (one-hot targets); losses and final weights agree to
# 1e-4 relative. Then the spec's and the option's errors.
# Exit 77 (skipped) when /usr/bin/python3 cannot import torch.
# Usage: loss_parity_test.sh FOVEA_BINARY SOURCE_DIR
source "$(dirname "$0")/common.sh" "$@"
if ! "$py" -c "import torch" >/dev/null 2>&1; then
  echo "skipped: torch missing ($py cannot import torch)"
  exit 77
fi

mlp_with_loss() {  # $1: the loss object, or "" for none
  local loss=${1:+, \"loss\": $1}
  echo "{\"input\": [1, 28, 28], \"classes\": 10$loss, \"layers\": [{\"type\": \"flatten\"},
    {\"type\": \"dense\", \"units\": 64}, {\"type\": \"relu\"}, {\"type\": \"dense\", \"units\": 10}]}"
}
mlp_with_loss '{"type": "cross_entropy", "label_smoothing": 0.1}' >"$tmp/smooth.json"
mlp_with_loss '' >"$tmp/plain.json"
mlp_with_loss '{"type": "mse"}' >"$tmp/mse.json"
mlp_with_loss '{"type": "bce_with_logits"}' >"$tmp/bce.json"

while read -r model args; do
  echo "== $model $args"
  # shellcheck disable=SC2086
  "$py" "$src/tools/torch_parity.py" --fovea "$fovea" --model "$tmp/$model" --steps 10 $args
  code=$?
  [ "$code" -eq 0 ] || fail "torch parity for $model $args (exit $code)"
done <<'EOF2'
smooth.json
plain.json --label-smoothing 0.2
mse.json --lr 0.5
bce.json --lr 0.5
EOF2

# Bad loss objects and options: one stderr line naming the file and field,
# exit 1, no run directory.
mlp_with_loss '{"type": "l1"}' >"$tmp/bad_type.json"
mlp_with_loss '{"type": "mse", "label_smoothing": 0.1}' >"$tmp/bad_field.json"
mlp_with_loss '{"type": "cross_entropy", "label_smoothing": 1}' >"$tmp/bad_e.json"
expect 1 "model $tmp/bad_type.json: 'loss': 'type' must be one of cross_entropy, mse, bce_with_logits, got \"l1\"\$" \
  -- train --model "$tmp/bad_type.json" --out "$tmp/bad_run" --limit 64
expect 1 "'loss': 'label_smoothing' applies to cross_entropy only, not mse\$" \
  -- train --model "$tmp/bad_field.json" --out "$tmp/bad_run" --limit 64
expect 1 "'loss': 'label_smoothing' must be a number in \[0, 1\), got 1\$" \
  -- train --model "$tmp/bad_e.json" --out "$tmp/bad_run" --limit 64
expect 1 "--label-smoothing applies to the cross_entropy loss; the model .*mse.json uses mse\$" \
  -- train --model "$tmp/mse.json" --label-smoothing 0.1 --out "$tmp/bad_run" --limit 64
expect 1 "mixup and cutmix \(--augment\) mix the targets of the cross_entropy loss; the model .* uses bce_with_logits\$" \
  -- train --model "$tmp/bce.json" --augment mixup:0.2 --out "$tmp/bad_run" --limit 64
[ -e "$tmp/bad_run" ] && fail "a refused run left $tmp/bad_run behind"
echo "errors: $passes passed"
[ "$fails" -eq 0 ] && echo "loss parity: every loss matches PyTorch"
[ "$fails" -eq 0 ]
