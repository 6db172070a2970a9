#!/usr/bin/env bash
# Builds and runs the device probe (probe.cpp and its shaders) in a temporary
# directory: the facts docs/devices.md states about lavapipe and SwiftShader.
#   tools/device_probe/run.sh                       the first Vulkan device (lavapipe here)
#   VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json tools/device_probe/run.sh
#   MESA_SHADER_CACHE_DISABLE=true tools/device_probe/run.sh   lavapipe's compile time without its disk cache
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in "$here"/*.comp; do
  glslc --target-env=vulkan1.1 "$s" -o "$tmp/$(basename "$s" .comp).spv"
done
g++ -std=c++17 -O2 -Wall -Wextra -Wno-missing-field-initializers "$here/probe.cpp" -o "$tmp/device_probe" -lvulkan
"$tmp/device_probe" "$tmp"
