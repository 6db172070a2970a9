#!/usr/bin/env bash
# Whole-model parity with PyTorch: tools/torch_parity.py trains the same
# batch for 10 SGD steps in Fovea and in PyTorch from the same initial
# weights, and fails when a loss or a final weight tensor is further from
# float64 PyTorch than max(1e-4, 4 x float32 PyTorch's own distance from it
# on the same run), both printed per row: PyTorch's float32 results move
# with the CPU's kernels, so a fixed edge near the measured error would
# pass on one CPU and fail on another. Then every optimizer, 20 steps on
# the MLP. Models: the shipped MLP, fashion_cnn and fashion_resnet, and a small CNN
# using conv2d (stride, padding, dilation, groups, no bias), relu, add,
# concat, flatten and dense through named inputs; random layers at p = 0
# (the identity); and the refusal of models that draw dropout masks.
# Skips (exit 77, tests/cli/skip.sh) only when /usr/bin/python3 cannot import torch.
# Usage: torch_parity_test.sh FOVEA_BINARY SOURCE_DIR
set -u
fovea=$1
src=$2
py=/usr/bin/python3
. "$src/tests/cli/skip.sh"
"$py" -c "import torch" >/dev/null 2>&1 || skip_test dep "torch missing ($py cannot import torch; python3-torch)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# [1, 28, 28] -> conv s2 [4, 14, 14] = a -> grouped conv + relu -> add a
#   \-> "side": 3x1 dilated conv, no bias [3, 14, 14] -> concat [7, 14, 14]
#   -> conv_transpose 3x3 s2 p1 op1 [4, 28, 28] -> maxpool 2 [4, 14, 14]
#   -> conv 3x3 s2 [6, 6, 6] -> relu -> flatten [216] -> dense [10]
cat >"$tmp/cnn.json" <<'EOF'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2, "padding": 1},
  {"type": "relu", "name": "a"},
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "groups": 2},
  {"type": "relu"},
  {"type": "add", "inputs": ["a", "layers.3"]},
  {"type": "conv2d", "name": "side", "inputs": ["a"], "out_channels": 3, "kernel": [3, 1],
   "padding": [2, 0], "dilation": [2, 1], "bias": false},
  {"type": "concat", "inputs": ["layers.4", "side"]},
  {"type": "conv_transpose2d", "out_channels": 4, "kernel": 3, "stride": 2, "padding": 1,
   "output_padding": 1, "groups": 1},
  {"type": "maxpool2d", "kernel": 2},
  {"type": "conv2d", "out_channels": 6, "kernel": 3, "stride": 2},
  {"type": "relu"},
  {"type": "flatten"},
  {"type": "dense", "units": 10}
]}
EOF

# Every activation and pooling layer: overlapping max pooling with padding,
# average pooling without counting padding, global average pooling.
cat >"$tmp/zoo.json" <<'EOF'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1},
  {"type": "gelu"},
  {"type": "maxpool2d", "kernel": 3, "stride": 2, "padding": 1},
  {"type": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1, "spectral_norm": true,
   "power_iterations": 2},
  {"type": "elu", "alpha": 0.5},
  {"type": "avgpool2d", "kernel": 2, "padding": 1, "count_include_pad": false, "name": "p"},
  {"type": "global_avgpool2d"},
  {"type": "flatten", "inputs": ["p"], "name": "f"},
  {"type": "dense", "units": 16, "spectral_norm": true}, {"type": "selu"},
  {"type": "dense", "units": 16}, {"type": "leaky_relu", "negative_slope": 0.2},
  {"type": "dense", "units": 16}, {"type": "softplus"},
  {"type": "dense", "units": 16}, {"type": "tanh"},
  {"type": "dense", "units": 6}, {"type": "sigmoid"},
  {"type": "concat", "inputs": ["layers.6", "layers.17"]},
  {"type": "flatten"},
  {"type": "dense", "units": 10}
]}
EOF

# Every normalisation layer, BatchNorm's running statistics compared too.
# No bias (or per-position constant) feeds a BatchNorm directly: BatchNorm
# cancels it exactly, its true gradient is 0 and a relative comparison would
# only compare rounding noise.
cat >"$tmp/norms.json" <<'EOF'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "conv2d", "out_channels": 6, "kernel": 3, "stride": 2, "padding": 1, "bias": false},
  {"type": "batchnorm2d"},
  {"type": "relu"},
  {"type": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1, "weight_standardization": true},
  {"type": "groupnorm", "num_groups": 3},
  {"type": "relu"},
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2, "padding": 1},
  {"type": "instancenorm2d", "affine": true},
  {"type": "relu"},
  {"type": "layernorm"},
  {"type": "relu"},
  {"type": "flatten"},
  {"type": "dense", "units": 12, "bias": false},
  {"type": "batchnorm1d", "momentum": 0.3},
  {"type": "relu"},
  {"type": "layernorm"},
  {"type": "dense", "units": 10}
]}
EOF

# Random layers at p = 0 are the identity on both sides.
cat >"$tmp/dropout0.json" <<'EOF'
{"input": [1, 28, 28], "classes": 10, "layers": [
  {"type": "flatten"}, {"type": "dropout", "p": 0}, {"type": "dense", "units": 32, "drop_connect": 0},
  {"type": "relu"}, {"type": "gaussian_dropout", "p": 0}, {"type": "dense", "units": 10}
]}
EOF

fails=0
# A model that draws masks cannot be compared: exit 2 with a message naming
# the layer and what it draws, for a dropout layer and for each option.
for layer in '{"type": "dropout"}' '{"type": "dense", "units": 10, "drop_connect": 0.1}' \
             '{"type": "add", "inputs": ["layers.0", "layers.0"], "stochastic_depth": 0.2}'; do
  echo "{\"input\": [1, 28, 28], \"classes\": 10, \"layers\": [{\"type\": \"flatten\"}, $layer,
    {\"type\": \"dense\", \"units\": 10}]}" >"$tmp/random.json"
  out=$("$py" "$src/tools/torch_parity.py" --fovea "$fovea" --model "$tmp/random.json" --steps 2 2>&1)
  code=$?
  if [ "$code" -ne 2 ] || ! grep -q "layers\[1\] .* draws random masks in training" <<<"$out"; then
    echo "FAIL: torch parity should refuse $layer (exit $code): $out"
    fails=$((fails + 1))
  fi
done
# Every comparison below runs in one PyTorch process (torch_parity.py
# --cases: one line per comparison, its options added to --fovea), so torch
# is imported once, not 34 times.
m=$src/assets/models
layer_spec="$tmp/mlp_penalties.json"
cat >"$layer_spec" <<'JSON'
{"input": [1, 28, 28], "classes": 10,
 "layers": [{"type": "flatten"}, {"type": "dense", "units": 256, "l1": 2e-3, "l2": 0},
            {"type": "relu"}, {"type": "dense", "units": 10, "l2": 0.05}]}
JSON
cat >"$tmp/cases" <<CASES
# Models, 10 SGD steps.
--model $m/mlp.json --steps 10
--model $m/fashion_cnn.json --steps 10
--model $tmp/cnn.json --steps 10
--model $tmp/zoo.json --steps 10
--model $tmp/norms.json --steps 10
--model $tmp/dropout0.json --steps 10
# fashion_resnet amplifies rounding: its BatchNorm gradients are sums with
# heavy cancellation, and float32 PyTorch itself ends 10 steps up to 1.75e-2
# (relative, on BatchNorm biases) away from float64 PyTorch, so there the
# spread, not the 1e-4 floor, sets the bound. Measured: Fovea's errors match
# PyTorch's (e.g. 1.3e-2 vs 1.25e-2 on 1.bias, 1.1e-3 vs 1.08e-3 on
# 13.weight; losses <= 4.4e-5).
--model $m/fashion_resnet.json --steps 10 --lr 0.01 --spread 4
# Every optimizer on the MLP for 20 steps against torch.optim (against
# float64, within max(1e-4, 4 x float32 PyTorch's own error); rmsprop
# centred and nadam below came to 1.03e-4 and 1.04e-4 from float32 PyTorch
# on another CPU, over the fixed 1e-4 this used to be). Rates: torch's
# defaults where they train this one repeated batch smoothly, else lower.
# The normalised steps (rmsprop, the Adam family) move a weight by about lr
# whatever its gradient's size, so a weight whose gradient is a near-total
# cancellation (|g| ~ 1e-7 where most are ~1e-3) moves by about lr in a
# direction float rounding decides, in PyTorch as in Fovea: at adam's
# default 1e-3 float32 PyTorch is itself 6e-5 from float64 PyTorch (Fovea
# 5e-5) and the two float32 runs 1.1e-4 apart. At the rates below such
# weights stay within 5e-5, while a wrong term still moves weights by 1e-3
# relative or more. rmsprop's default 0.01 diverges on this batch (its
# first step moves every weight by about 10 lr).
--model $m/mlp.json --steps 20 --optimizer sgd
--model $m/mlp.json --steps 20 --optimizer sgd --momentum 0 --weight-decay 0.01
--model $m/mlp.json --steps 20 --optimizer nesterov --weight-decay 0.01
--model $m/mlp.json --steps 20 --optimizer adagrad
--model $m/mlp.json --steps 20 --optimizer adagrad --weight-decay 0.01
--model $m/mlp.json --steps 20 --optimizer rmsprop --lr 1e-4
--model $m/mlp.json --steps 20 --optimizer rmsprop --lr 1e-5 --centered --momentum 0.9 --weight-decay 0.01
--model $m/mlp.json --steps 20 --optimizer adadelta
--model $m/mlp.json --steps 20 --optimizer adadelta --rho 0.5 --weight-decay 0.01
--model $m/mlp.json --steps 20 --optimizer adam --lr 5e-4
--model $m/mlp.json --steps 20 --optimizer adam --lr 5e-4 --weight-decay 0.01 --beta1 0.8 --eps 1e-6
--model $m/mlp.json --steps 20 --optimizer adamw --lr 5e-4
--model $m/mlp.json --steps 20 --optimizer adamw --lr 5e-4 --weight-decay 0.5
--model $m/mlp.json --steps 20 --optimizer amsgrad --lr 5e-4
--model $m/mlp.json --steps 20 --optimizer adamax --lr 1e-3
--model $m/mlp.json --steps 20 --optimizer nadam --lr 1e-3
--model $m/mlp.json --steps 20 --optimizer nadam --lr 1e-3 --momentum-decay 0.1 --weight-decay 0.01
# Weight penalties and gradient clipping, 20 steps, the same bound: the
# penalty is added to the torch loss on the same tensors, clip_grad_value_ /
# clip_grad_norm_ run before opt.step(); the losses compared are the data
# loss, and the reported penalty of the final weights is compared too. The
# per-layer spec overrides the global l2 on both layers and sets an l1 on
# the hidden one only. (Adam with L1 is left out: weights L1 pins near 0
# flip sign on rounding, and Adam moves them by about lr either way: 2e-3.)
# Last, class weights (--class-weights): CrossEntropyLoss(weight=w),
# balanced from the batch's own class counts, and explicit weights with one
# class at 0.
--model $m/mlp.json --steps 20 --l1 1e-3
--model $m/mlp.json --steps 20 --l2 0.01
--model $m/mlp.json --steps 20 --l1 1e-3 --l2 0.01
--model $m/mlp.json --steps 20 --l1 1e-3 --l2 0.01 --penalize-biases
--model $layer_spec --steps 20 --l2 0.01
--model $m/mlp.json --steps 20 --clip-norm 0.5
--model $m/mlp.json --steps 20 --clip-value 0.01
--model $m/mlp.json --steps 20 --optimizer adam --lr 5e-4 --l2 0.01 --clip-norm 0.5
--model $m/mlp.json --steps 20 --class-weights balanced
--model $m/mlp.json --steps 20 --class-weights 1,2,0.5,1,3,1,0,1,2,1
CASES
"$py" "$src/tools/torch_parity.py" --fovea "$fovea" --cases "$tmp/cases"
code=$?
if [ "$code" -ne 0 ]; then
  echo "FAIL: torch parity: a case above failed (exit $code)"
  fails=$((fails + 1))
fi
[ "$fails" -eq 0 ] && echo "torch parity: all models and optimizers passed"
[ "$fails" -eq 0 ]
