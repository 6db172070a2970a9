#version 450
// Max pooling backward (pool/maxpool2d_backward.glsl) reading arg and dy through
// r32f / r32ui uniform texel buffers (bindings 5, 6; the storage bindings
// stay bound): on lavapipe a texel fetch is a branch-free vector load, a
// storage-buffer load at a per-lane address a scalar loop over the lanes
// (docs/devices.md). The host picks it when the views fit texel buffers.
#define MAXPOOL_TEXEL
#include "pool/maxpool2d_backward.glsl"
