// Shared by every kernel: the per-step parameter block (binding 0, written by
// the host before each step; see StepParams in src/gpu/kernel.h) and loop
// helpers.
//
// lavapipe silently stops any loop after 65,535 iterations (DEVICES.md), so
// a reduction whose length can grow with the data runs as an outer loop over
// chunks of at most FOVEA_CHUNK iterations.
#extension GL_GOOGLE_include_directive : require

layout(std140, set = 0, binding = 0) uniform StepParams {
  float lr;
  uint step;
  uint rows;  // valid rows of this batch; rows beyond it are padding
  uint seed;
  uint slot;
  float blur_sigma;
} P;

#define FOVEA_CHUNK 32768u
