// Sample images at each blur level, or augmented, computed on the GPU by
// the same kernels that blur and augment training batches (`fovea blur`,
// `fovea augment`, and the run report's grid).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/idx.h"
#include "report/image.h"
#include "report/report.h"

namespace fovea::gpu { class Context; }

namespace fovea::report {

struct BlurGridConfig {
  std::vector<double> sigmas = {0, 1, 2, 4};  // one grid row per sigma, pixels
  uint32_t first = 0;   // first image of the set
  uint32_t count = 8;   // images per row
  bool pyramid = false; // level k also decimated by 2, k times (shown enlarged)
  uint32_t gap = 2;     // pixels between cells
  uint32_t scale = 1;   // the whole grid enlarged this many times (nearest pixel), 1..16
  bool labels = false;  // a margin on the left with each row's sigma ("σ=0.67")
};

// Blurs images first..first+count-1 of `set` at each sigma (pixel values
// in [0, 1], one recorded program replayed with sigma from the step
// parameters) and lays them out as a grid: a row per sigma, a column per
// image, then enlarges and labels it as `cfg` asks. Sets with 3 channels
// give RGB, others grey (the first channel). Throws fovea::Error on a bad
// sigma, count, scale or range.
Image blur_grid(gpu::Context& ctx, const data::ImageSet& set, const BlurGridConfig& cfg);

// The run report's sample grid for the run in `run_dir`: the first 8
// images of `set` at report_grid_sigmas(run_dir), as PNG bytes in the
// extras. The same run, set and device give the same bytes.
ReportExtras report_samples(gpu::Context& ctx, const data::ImageSet& set, const std::string& run_dir);
struct AugmentGridConfig {
  data::AugmentConfig augment;
  uint32_t first = 0;   // first image of the set
  uint32_t count = 16;  // images per row (one batch)
  uint32_t rows = 4;    // augmented rows, steps 0..rows-1
  uint64_t seed = 0;    // the run seed the draws are keyed by
  uint32_t gap = 2;     // pixels between cells
};

// Images first..first+count-1 of `set` as one batch: the first grid row
// shows them as they are, row r + 1 as the training step `r` of a run with
// `seed` would augment them (decode, then the augmentation kernels of the
// training step with its (seed, step) draws; mixup / cutmix partners are
// among the shown images). Throws fovea::Error on a bad count or range.
Image augment_grid(gpu::Context& ctx, const data::ImageSet& set, const AugmentGridConfig& cfg);

}  // namespace fovea::report
