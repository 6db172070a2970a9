// Shared by every kernel: the per-step parameter block (binding 0, written by
// the host before each step; its C++ layout is nn::StepParams in
// src/nn/step_params.h, checked member by member against this block by
// tests/cpu/step_params_test.cpp) and loop helpers.
//
// lavapipe silently stops a shader's loops after 65,535 iterations in total:
// one limiter per SIMD group of lanes, decremented by every iteration of
// every loop that any lane of the group runs, divergent branches included
// (measured: three sequential 30,000-iteration loops come out wrong, so does
// an outer loop over chunks, and so do 3 x 16,384 iterations when some lanes
// take a separate 16,384-iteration branch). So every lane of a group should
// follow the same loops, no group may loop more than FOVEA_MAX_ITERATIONS
// times in all, and reductions that grow with the data are split across
// workgroups (split-K) and summed by a second kernel.
#extension GL_GOOGLE_include_directive : require

layout(std140, set = 0, binding = 0) uniform StepParams {
  float lr;
  uint step;
  uint rows;  // valid rows of this batch; rows beyond it are padding
  uint seed;
  uint slot;
  float blur_sigma;     // Gaussian blur of the input images, pixels (0 = none)
  float feature_sigma;  // 3x3 Gaussian on the feature maps after each conv
  float noise_std;      // Gaussian noise on the inputs, [0, 1] pixel units
  uint first_image;     // index of the batch's first image in its pass
  uint loss_rows;       // rows a mean loss divides by (0: rows; data-parallel: the global batch's)
  uint first_row;       // data-parallel: this rank's first row in the global batch (else 0)
  uint shard_rows;      // data-parallel: the rows this rank records (else 0)
  vec4 optim;           // optimizer's per-step scalars (ops::OptimCoefficients)
} P;

#define FOVEA_MAX_ITERATIONS 65535u

// The divisor of a mean loss over the batch's rows: this batch's valid rows,
// or, when the batch is one rank's shard of a global batch, the global
// batch's (so the ranks' gradients sum to the global batch's).
float loss_divisor() { return float(P.loss_rows > 0u ? P.loss_rows : P.rows); }

// Value e of a per-row tensor of `count` values over the recorded rows, as
// an index into the same tensor over the global batch: e itself with one
// process, e + first_row * (values per row) for a data-parallel rank. Random
// draws keyed by it are the same for a global row whatever the number of
// ranks.
uint global_index(uint e, uint count) {
  return P.first_row == 0u ? e : e + P.first_row * (count / P.shard_rows);
}
