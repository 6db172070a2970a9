// Step parameters of programs outside any model (train/program_params.h).
#include "train/program_params.h"

#include <cstring>

#include "nn/step_params.h"

namespace fovea::train {

ProgramParams::ProgramParams(gpu::Arena& upload, const std::string& name)
    : view_(upload.reserve(name, sizeof(nn::StepParams))) {}

void ProgramParams::write(const ProgramStep& s) {
  nn::StepParams p;
  p.rows = s.rows;
  p.seed = uint32_t(s.seed);
  p.step = s.step;
  p.blur_sigma = float(s.blur_sigma);
  std::memcpy(view_.host(), &p, sizeof p);
}

}  // namespace fovea::train
