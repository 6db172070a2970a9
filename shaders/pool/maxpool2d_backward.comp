#version 450
// Max pooling backward, storage-buffer reads: pool/maxpool2d_backward.glsl.
#include "pool/maxpool2d_backward.glsl"
