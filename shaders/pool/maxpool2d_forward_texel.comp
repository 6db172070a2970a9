#version 450
// Max pooling forward (pool/maxpool2d_forward.glsl) reading x through
// r32f / r32ui uniform texel buffers (bindings 5, 6; the storage bindings
// stay bound): on lavapipe a texel fetch is a branch-free vector load, a
// storage-buffer load at a per-lane address a scalar loop over the lanes
// (docs/devices.md). The host picks it when the views fit texel buffers.
#define MAXPOOL_TEXEL
#include "pool/maxpool2d_forward.glsl"
