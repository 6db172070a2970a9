#!/usr/bin/env bash
# Proof that a change moved nothing: short fixed-seed runs (3 training steps
# each) of mlp, fashion_cnn, fashion_cnn_dropout (with --augment and
# --sharpen step) and fashion_resnet end with model.safetensors tensors whose
# SHA-256 (tensor_digest.py: names, dtypes, shapes and data; not the file,
# whose metadata may grow) equals the digest recorded below.
# A change that alters a summation order (or any float result) re-records
# them (`digest_test.sh FOVEA SRC --print`) and says so in its commit.
#
# The digests must not depend on the CPU lavapipe runs on. Measured with
# this lavapipe (Mesa 22.3, LLVM 15) on an AVX-512 machine, two CPU facts
# change them, so both are pinned here:
# - the SIMD width sets the subgroup size (4 lanes at 128 bits, 8 at 256),
#   and conv2d's input gradient takes the implicit GEMM only with subgroups
#   of 8 or more (col2im otherwise: another summation order), so
#   fashion_cnn's digest moved with LP_NATIVE_VECTOR_WIDTH=128;
# - FMA: LLVM fuses the shaders' multiply-adds only where the CPU has FMA,
#   so every digest, the mlp's too, moved with GALLIUM_OVERRIDE_CPU_CAPS=sse4.1.
# LP_NATIVE_VECTOR_WIDTH=256 (emulated with two 128-bit halves where the CPU
# has no AVX) and GALLIUM_OVERRIDE_CPU_CAPS=sse4.1 (no AVX, no FMA: what any
# x86-64 CPU since 2008 has) give the same code on every x86-64 CPU.
# LP_NUM_THREADS (1 or 2) and the AVX-512 units changed nothing.
# A different Mesa or LLVM compiles other code: re-record the digests then.
# Usage: digest_test.sh FOVEA_BINARY SOURCE_DIR [--print]
. "$2/tests/cli/common.sh"
. "$src/tests/cli/few_test_images.sh"
print=${3:-}
few_test_images 10
export LP_NATIVE_VECTOR_WIDTH=256 GALLIUM_OVERRIDE_CPU_CAPS=sse4.1
# lavapipe, with the kernels its device model picks by default.
unset FOVEA_DEVICE FOVEA_FAST FOVEA_KERNELS FOVEA_LIMITS
if ! "$fovea" devices 2>/dev/null | grep -q llvmpipe; then
  skip_test dep "no lavapipe (llvmpipe) device (mesa-vulkan-drivers)"
fi

# name, then the run's options after --model assets/models/<name>.json
runs=(
  "mlp|"
  "fashion_cnn|"
  "fashion_cnn_dropout|--augment flip,crop:2,rotate:10,brightness:0.2,noise:0.05,erase,mixup:0.4 --sharpen step"
  "fashion_resnet|"
)
declare -A want=(
  [mlp]=262909c2ab80b468017a534a105fe6bbc792175059bc3a077ef7dcf997400fbb
  [fashion_cnn]=a18e65a07995f786c46454f69e7b0e14fa773c46d32fd379c45382174c90c026
  [fashion_cnn_dropout]=62e4e6c5f5e5b27e6bab76ffc123eeea649f3f9d67517e1384486a81d51e91c3
  [fashion_resnet]=83743023ed33bd8fd1c1f43b7baf7474d21baa52808e776db4344954535c3d4c
)
for run in "${runs[@]}"; do
  name=${run%%|*}
  extra=${run#*|}
  # 40 images, 4 held out: 36 training images in batches of 12, 3 steps.
  # shellcheck disable=SC2086
  if ! "$fovea" train --model "$src/assets/models/$name.json" --data "$data" --limit 40 --val-split 4 \
      --batch 12 --epochs 1 --seed 5 --optimizer adam --lr 0.003 --no-progress --device llvmpipe $extra \
      --out "$tmp/$name" >"$tmp/$name.out" 2>&1; then
    fail "$name: the run failed: $(tail -3 "$tmp/$name.out")"
    continue
  fi
  got=$("$py" "$src/tests/cli/tensor_digest.py" "$tmp/$name/model.safetensors")
  if [ "$print" = --print ]; then
    echo "  [$name]=$got"
  elif [ "$got" = "${want[$name]}" ]; then
    passes=$((passes + 1))
  else
    fail "$name: tensor digest $got, recorded ${want[$name]}"
  fi
done
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
