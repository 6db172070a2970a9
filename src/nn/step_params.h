// The per-step parameter block: what the host writes into a program's
// parameter ring slot before each step, and every kernel reads at binding 0
// as the uniform block `StepParams P` of shaders/common.glsl (std140). To
// src/gpu it is opaque bytes (Program::set_params binds the view whole);
// the layout lives here, with the programs that use it.
//
// Its GLSL mirror must match member for member: tests/cpu/step_params_test.cpp
// computes the std140 offsets of common.glsl's block and compares them with
// kStepParamsFields, which must cover this struct exactly (add a field to
// the struct, the table and common.glsl together).
#pragma once
#include <cstddef>
#include <cstdint>

namespace fovea::nn {

struct StepParams {
  float lr = 0;             // learning rate of this step
  uint32_t step = 0;        // global step index, from 0
  uint32_t rows = 0;        // valid rows in this batch (<= recorded batch size)
  uint32_t seed = 0;        // run seed
  uint32_t slot = 0;        // upload-ring slot of this step
  float blur_sigma = 0;     // Gaussian blur of the input images, pixels (0 = none)
  float feature_sigma = 0;  // 3x3 Gaussian on the feature maps after each conv (0 = none)
  float noise_std = 0;      // Gaussian noise on the inputs, [0, 1] pixel units (evaluation)
  uint32_t first_image = 0; // index of the batch's first image in its pass (noise keys)
  // Rows a mean loss divides by (0: rows). A data-parallel rank's batch is
  // its shard of the global batch: this is the global batch's valid rows.
  uint32_t loss_rows = 0;
  // A data-parallel rank's first row in the global batch, and the rows it
  // records (its shard's size); 0, 0 with one process. Random layers and
  // augmentation key their per-row draws by the global row (global_index()
  // in common.glsl), so any number of ranks draws the same numbers.
  uint32_t first_row = 0;
  uint32_t shard_rows = 0;
  // The optimizer's per-step scalars (bias corrections, NAdam's momentum
  // schedule), computed on the host in double: ops::OptimCoefficients. A
  // vec4 in std140, so it starts at byte 48.
  float optim[4] = {0, 0, 0, 0};
};

// Every member in order: name (as in common.glsl), byte offset, bytes.
struct StepParamsField {
  const char* name;
  size_t offset, bytes;
};
#define FOVEA_STEP_FIELD(f) StepParamsField{#f, offsetof(StepParams, f), sizeof(StepParams::f)}
inline constexpr StepParamsField kStepParamsFields[] = {
    FOVEA_STEP_FIELD(lr),          FOVEA_STEP_FIELD(step),          FOVEA_STEP_FIELD(rows),
    FOVEA_STEP_FIELD(seed),        FOVEA_STEP_FIELD(slot),          FOVEA_STEP_FIELD(blur_sigma),
    FOVEA_STEP_FIELD(feature_sigma), FOVEA_STEP_FIELD(noise_std),   FOVEA_STEP_FIELD(first_image),
    FOVEA_STEP_FIELD(loss_rows),   FOVEA_STEP_FIELD(first_row),     FOVEA_STEP_FIELD(shard_rows),
    FOVEA_STEP_FIELD(optim),
};
#undef FOVEA_STEP_FIELD
static_assert(sizeof(StepParams) == 64);
static_assert(offsetof(StepParams, optim) == 48);

}  // namespace fovea::nn
