#!/usr/bin/env bash
# Installs every Debian 12 package Fovea needs to build, test and benchmark.
# Idempotent; runs `apt-get update` once, only when something is missing.
# Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  glslc spirv-tools
  libglm-dev catch2 nlohmann-json3-dev zlib1g-dev libcli11-dev libstb-dev
  dataset-fashion-mnist
  # Data-parallel training (mpirun -np N fovea train): OpenMPI, headers and launcher.
  libopenmpi-dev openmpi-bin
  python3 python3-numpy python3-torch
  # The run report's test renders report.html in headless Chromium and reads
  # the screenshot with OpenCV; the ONNX export checks run onnx.checker and
  # OpenCV's DNN module on the exported files.
  chromium python3-opencv python3-onnx
  # The parsers' libFuzzer targets and the sanitizer build of the CPU tests
  # (tests/fuzz, docs/reliability.md): clang with its runtimes.
  clang libclang-rt-14-dev bc
  # PyTorch, the benchmark peer, uses the system BLAS: give it an optimised one
  # (the reference libblas3 makes it ~20x slower and the comparison unfair).
  libopenblas0-pthread
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
