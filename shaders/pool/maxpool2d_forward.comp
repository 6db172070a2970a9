#version 450
// Max pooling forward, storage-buffer reads: pool/maxpool2d_forward.glsl.
#include "pool/maxpool2d_forward.glsl"
