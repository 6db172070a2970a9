#include "train/samples.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "data/sharpening.h"
#include "io/png.h"
#include "train/pyramid.h"
#include "util/error.h"

namespace fovea::train {

Image blur_grid(gpu::Context& ctx, const data::ImageSet& set, const BlurGridConfig& cfg) {
  // The CLI's names for the pyramid's checks.
  if (cfg.sigmas.empty()) throw Error("--sigma: give at least one sigma");
  for (double s : cfg.sigmas)
    if (!(s >= 0 && s <= data::kMaxSharpenSigma))
      throw Error("--sigma: " + std::to_string(s) + " is outside [0, 20] pixels");
  if (cfg.count == 0 || cfg.count > 256) throw Error("--count must be in [1, 256]");
  const uint32_t C = set.channels, H = set.height, W = set.width, N = cfg.count;
  const uint32_t levels = uint32_t(cfg.sigmas.size());
  PyramidConfig pc;
  pc.sigmas = cfg.sigmas;
  pc.downsample = cfg.pyramid;
  const BlurPyramid pyramid(ctx, set, cfg.first, N, pc);

  Image grid;
  grid.channels = C == 3 ? 3 : 1;
  grid.width = N * W + (N + 1) * cfg.gap;
  grid.height = levels * H + (levels + 1) * cfg.gap;
  grid.pixels.assign(size_t(grid.width) * grid.height * grid.channels, 128);

  for (uint32_t level = 0; level < levels; ++level) {
    const std::vector<float> v = pyramid.download(level);
    const uint32_t h = pyramid.shape(level).height, w = pyramid.shape(level).width;
    // Each cell shows the level enlarged back to H x W (nearest pixel).
    for (uint32_t n = 0; n < N; ++n)
      for (uint32_t i = 0; i < H; ++i)
        for (uint32_t j = 0; j < W; ++j)
          for (uint32_t c = 0; c < grid.channels; ++c) {
            const uint32_t si = i * h / H, sj = j * w / W;
            const float val = v[((uint64_t(n) * C + c) * h + si) * w + sj];
            const uint32_t gy = cfg.gap + level * (H + cfg.gap) + i, gx = cfg.gap + n * (W + cfg.gap) + j;
            grid.pixels[(size_t(gy) * grid.width + gx) * grid.channels + c] =
                uint8_t(std::lround(std::clamp(val, 0.0f, 1.0f) * 255.0f));
          }
  }
  return grid;
}

ReportExtras report_samples(gpu::Context& ctx, const data::ImageSet& set, const std::string& run_dir) {
  ReportExtras extras;
  BlurGridConfig cfg;
  cfg.sigmas = report_grid_sigmas(run_dir);
  cfg.count = std::min<uint32_t>(cfg.count, set.count);
  const Image img = blur_grid(ctx, set, cfg);
  extras.sample_grid_png = io::encode_png(img.width, img.height, img.channels, img.pixels);
  extras.grid_sigmas = cfg.sigmas;
  return extras;
}

}  // namespace fovea::train
