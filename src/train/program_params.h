// The step parameters of programs outside any model (the augmentation and
// blur sample grids, the blur pyramid, the roofline's micro-kernels): one
// block in the caller's upload arena that the programs bind
// (gpu::Program::set_params), written here as train::Session writes a
// model's, so no caller builds an nn::StepParams itself.
#pragma once
#include <cstdint>
#include <string>

#include "gpu/memory.h"

namespace fovea::train {

// What such a pass reads of the block; everything else is 0.
struct ProgramStep {
  uint32_t rows = 0;       // images in the pass
  uint64_t seed = 0;       // the run seed augmentation's draws are keyed by
  uint32_t step = 0;       // the training step they are keyed by
  double blur_sigma = 0;   // the input blur, pixels
};

class ProgramParams {
 public:
  // Reserves the block in `upload` (before the arena's commit).
  ProgramParams(gpu::Arena& upload, const std::string& name);
  // The block, for gpu::Program::set_params.
  const gpu::View& view() const { return view_; }
  // Writes the block (after the arena's commit; no run of the programs in flight).
  void write(const ProgramStep& s);

 private:
  gpu::View view_;
};

}  // namespace fovea::train
