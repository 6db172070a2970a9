#!/usr/bin/env bash
# The checks to run on a lent NVIDIA machine (no Vulkan loader there). Here,
# after building: `../shared/tools/gpu-bundle.sh --with-data`, then
# `cd .gl && apt-get download vulkan-validationlayers libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2`
# (NVIDIA's ICD needs libglvnd), `mkdir -p .gl/bin && cp build/fovea build/fovea_bench_ops
# build/tests/fovea_tests_gpu .gl/bin/`; then the device tool's run with
# carry [".gl"] and the command `bash tools/gpu_run.sh` (about
# 2 minutes on an H200). Results land in $OUT: the GPU test log, fast (fp16
# paths on) vs FOVEA_FAST=fp32 vs portable vs vulkan11-min weights,
# tools/bench against PyTorch CUDA, the roofline and a profile. docs/benchmarks.md ("NVIDIA H200") holds the figures.
cd "$(dirname "$0")/.."
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
mkdir -p /usr/share/datasets/fashion-mnist && cp .gl/data/* /usr/share/datasets/fashion-mnist/
mkdir -p /work; [ -e /work/main ] || ln -s "$PWD" /work/main
mkdir -p build/tests; cp .gl/bin/fovea .gl/bin/fovea_bench_ops build/; cp .gl/bin/fovea_tests_gpu build/tests/
T0=$(date +%s)
{ build/fovea devices; echo; FOVEA_LIMITS=vulkan11-min build/fovea devices; } > $OUT/devices.txt 2>&1
FOVEA_VALIDATION=1 timeout 150 build/tests/fovea_tests_gpu -d yes > $OUT/gpu_tests.log 2>&1; echo "gpu tests rc=$? in $(( $(date +%s)-T0 )) s"
grep -a -A8 "FAILED" $OUT/gpu_tests.log | head -40; tail -2 $OUT/gpu_tests.log
A=(train --model assets/models/fashion_cnn.json --limit 1280 --batch 128 --val-split 0 --epochs 1 --seed 7 --validate --no-progress)
{ build/fovea "${A[@]}" --out /tmp/fast && FOVEA_FAST=fp32 build/fovea "${A[@]}" --out /tmp/fp32 && FOVEA_FAST=0 build/fovea "${A[@]}" --out /tmp/port && FOVEA_LIMITS=vulkan11-min build/fovea "${A[@]}" --out /tmp/min \
  && FOVEA_FAST=fp32 FOVEA_LIMITS=storage_range=2097152 build/fovea "${A[@]}" --out /tmp/split; } > $OUT/equality.txt 2>&1
python3 - >> $OUT/equality.txt 2>&1 <<'PY'
import json, struct, numpy as np
def t(p):
    raw=open(p,'rb').read(); n=struct.unpack('<Q',raw[:8])[0]; h=json.loads(raw[8:8+n])
    return {k:np.frombuffer(raw[8+n+v['data_offsets'][0]:8+n+v['data_offsets'][1]],np.float32) for k,v in h.items() if k!='__metadata__'}
a=t('/tmp/fast/model.safetensors')
for other in ('/tmp/fp32','/tmp/port','/tmp/min'):
    b=t(other+'/model.safetensors')
    print(other, 'worst rel diff vs fast: %.3e' % max(np.abs(a[k]-b[k]).max()/np.abs(a[k]).max() for k in a))
a, b = t('/tmp/fp32/model.safetensors'), t('/tmp/split/model.safetensors')
print('/tmp/split (2 MiB storage range, fp32)', 'worst rel diff vs fp32: %.3e' % max(np.abs(a[k]-b[k]).max()/np.abs(a[k]).max() for k in a))
PY
grep -a "worst\|validation" $OUT/equality.txt
export FOVEA_PYTHON=python3
# PyTorch eager and PyTorch replaying a CUDA graph of its whole step, each in
# three alternated pairs with Fovea (median and range; the peer moves between runs).
{ for m in mlp fashion_cnn fashion_resnet; do
    timeout 300 python3 tools/bench --model assets/models/$m.json --torch-device cuda --pairs 3 2>&1 | tail -9
    timeout 300 python3 tools/bench --model assets/models/$m.json --torch-device cuda --cuda-graphs --pairs 3 2>&1 | tail -9
  done
  timeout 200 python3 tools/bench --model assets/models/fashion_cnn.json --torch-device cuda --pairs 1 --ops 2>&1 | tail -16; } > $OUT/bench.txt 2>&1
cat $OUT/bench.txt
{ timeout 60 build/fovea bench --model assets/models/fashion_cnn.json --roofline --peak-gflops 67000 --peak-gbps 4800
  timeout 60 build/fovea bench --model assets/models/fashion_resnet.json --roofline --peak-gflops 67000 --peak-gbps 4800
  timeout 60 build/fovea bench --model assets/models/fashion_cnn.json --steps 50; } > $OUT/roofline.txt 2>&1
timeout 60 build/fovea train --model assets/models/fashion_cnn.json --limit 12800 --epochs 1 --profile --no-progress --out /tmp/prof > $OUT/profile_cnn.txt 2>&1
echo "total $(( $(date +%s)-T0 )) s"
