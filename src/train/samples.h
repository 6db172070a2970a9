// Sample images at each blur level, computed on the GPU by the same kernel
// that blurs training batches (`fovea blur`, and the run report's grid).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/idx.h"
#include "train/report.h"

namespace fovea::gpu { class Context; }

namespace fovea::train {

struct BlurGridConfig {
  std::vector<double> sigmas = {0, 1, 2, 4};  // one grid row per sigma, pixels
  uint32_t first = 0;   // first image of the set
  uint32_t count = 8;   // images per row
  bool pyramid = false; // level k also decimated by 2, k times (shown enlarged)
  uint32_t gap = 2;     // pixels between cells
};

struct Image {
  uint32_t width = 0, height = 0, channels = 0;  // channels 1 or 3
  std::vector<uint8_t> pixels;                   // [height, width, channels]
};

// Blurs images first..first+count-1 of `set` at each sigma (pixel values
// in [0, 1], one recorded program replayed with sigma from the step
// parameters) and lays them out as a grid: a row per sigma, a column per
// image. Sets with 3 channels give RGB, others grey (the first channel).
// Throws fovea::Error on a bad sigma, count or range.
Image blur_grid(gpu::Context& ctx, const data::ImageSet& set, const BlurGridConfig& cfg);

// The run report's sample grid for the run in `run_dir`: the first 8
// images of `set` at report_grid_sigmas(run_dir), as PNG bytes in the
// extras. The same run, set and device give the same bytes.
ReportExtras report_samples(gpu::Context& ctx, const data::ImageSet& set, const std::string& run_dir);

}  // namespace fovea::train
