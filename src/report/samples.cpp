#include "report/samples.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "data/sharpening.h"
#include "io/png.h"
#include "gpu/context.h"
#include "gpu/recorder.h"
#include "ops/augment.h"
#include "ops/decode.h"
#include "train/program_params.h"
#include "train/pyramid.h"
#include "util/error.h"

namespace fovea::report {
namespace {

// A grid of `rows` x `cols` cells of H x W pixels, grey background.
Image empty_grid(uint32_t rows, uint32_t cols, uint32_t C, uint32_t H, uint32_t W, uint32_t gap) {
  Image grid;
  grid.channels = C == 3 ? 3 : 1;
  grid.width = cols * W + (cols + 1) * gap;
  grid.height = rows * H + (rows + 1) * gap;
  grid.pixels.assign(size_t(grid.width) * grid.height * grid.channels, 128);
  return grid;
}

// Grid row `row` shows images v: [cols, C, h, w] (values in [0, 1]), each
// cell enlarged back to H x W (nearest pixel).
void place_row(Image& grid, uint32_t row, const std::vector<float>& v, uint32_t cols, uint32_t C,
               uint32_t h, uint32_t w, uint32_t H, uint32_t W, uint32_t gap) {
  for (uint32_t n = 0; n < cols; ++n)
    for (uint32_t i = 0; i < H; ++i)
      for (uint32_t j = 0; j < W; ++j)
        for (uint32_t c = 0; c < grid.channels; ++c) {
          const uint32_t si = i * h / H, sj = j * w / W;
          const float val = v[((uint64_t(n) * C + c) * h + si) * w + sj];
          const uint32_t gy = gap + row * (H + gap) + i, gx = gap + n * (W + gap) + j;
          grid.pixels[(size_t(gy) * grid.width + gx) * grid.channels + c] =
              uint8_t(std::lround(std::clamp(val, 0.0f, 1.0f) * 255.0f));
        }
}

}  // namespace

Image blur_grid(gpu::Context& ctx, const data::ImageSet& set, const BlurGridConfig& cfg) {
  // The CLI's names for the pyramid's checks.
  if (cfg.sigmas.empty()) throw Error("--sigma: give at least one sigma");
  for (double s : cfg.sigmas)
    if (!(s >= 0 && s <= data::kMaxSharpenSigma))
      throw Error("--sigma: " + std::to_string(s) + " is outside [0, 20] pixels");
  if (cfg.count == 0 || cfg.count > 256) throw Error("--count must be in [1, 256]");
  if (cfg.scale == 0 || cfg.scale > 16) throw Error("--scale must be in [1, 16], got " + std::to_string(cfg.scale));
  const uint32_t C = set.channels, H = set.height, W = set.width, N = cfg.count;
  const uint32_t levels = uint32_t(cfg.sigmas.size());
  train::PyramidConfig pc;
  pc.sigmas = cfg.sigmas;
  pc.downsample = cfg.pyramid;
  const train::BlurPyramid pyramid(ctx, set, cfg.first, N, pc);

  Image grid = empty_grid(levels, N, C, H, W, cfg.gap);
  for (uint32_t level = 0; level < levels; ++level)
    place_row(grid, level, pyramid.download(level), N, C, pyramid.shape(level).height,
              pyramid.shape(level).width, H, W, cfg.gap);
  grid = scale_nearest(grid, cfg.scale);
  if (!cfg.labels) return grid;
  std::vector<std::string> labels;
  for (double s : cfg.sigmas) labels.push_back("\u03c3=" + short_number(s));
  const uint32_t k = cfg.scale;  // rows start at gap and are H + gap apart, before scaling
  return label_rows(grid, labels, cfg.gap * k, (H + cfg.gap) * k, H * k, std::max(1u, k / 2));
}

Image augment_grid(gpu::Context& ctx, const data::ImageSet& set, const AugmentGridConfig& cfg) {
  if (cfg.count == 0 || cfg.count > 256) throw Error("--count must be in [1, 256]");
  if (cfg.rows == 0 || cfg.rows > 64) throw Error("--rows must be in [1, 64]");
  if (uint64_t(cfg.first) + cfg.count > set.count)
    throw Error(set.images_path + " holds " + std::to_string(set.count) + " images; images " +
                std::to_string(cfg.first) + ".." + std::to_string(uint64_t(cfg.first) + cfg.count - 1) +
                " asked for");
  const uint32_t C = set.channels, H = set.height, W = set.width, N = cfg.count;
  const uint64_t D = set.image_bytes();
  // The training step's standardisation, so contrast pivots on the same mean.
  const data::ChannelStats cs = data::channel_stats(set);

  gpu::Arena device(ctx, gpu::MemoryKind::Device, "augment.grid");
  gpu::Arena upload(ctx, gpu::MemoryKind::Upload, "augment.grid.upload");
  auto images = upload.reserve("images", (uint64_t(N) * D + 3) / 4 * 4);
  auto labels = upload.reserve("labels", 4ull * (N + data::kMixWords));
  train::ProgramParams params(upload, "params");
  auto stats = device.reserve("stats", 8ull * C);
  auto x = device.reserve("x", 4ull * N * D), scratch = device.reserve("scratch", 4ull * N * D);
  device.commit();
  upload.commit();
  std::vector<float> ms(2 * C);
  for (uint32_t c = 0; c < C; ++c) {
    ms[c] = float(cs.mean[c]);
    ms[C + c] = float(1.0 / std::max(cs.std[c], 1e-12));
  }
  gpu::upload(ctx, stats, ms.data(), ms.size() * 4);
  std::memcpy(images.host(), set.pixels.data() + uint64_t(cfg.first) * D, uint64_t(N) * D);
  std::memset(labels.host(), 0, labels.size);

  const ops::AugmentShape shape{N, C, H, W};
  gpu::Program original(ctx, "augment.original"), augmented(ctx, "augment.grid");
  for (gpu::Program* prog : {&original, &augmented}) {
    prog->set_params(params.view());
    ops::record_decode(*prog, shape, images, stats, x, "decode");
  }
  ops::record_augment(augmented, shape, cfg.augment, x, scratch, stats, labels, "augment");

  Image grid = empty_grid(1 + cfg.rows, N, C, H, W, cfg.gap);
  std::vector<float> v(uint64_t(N) * D);
  for (uint32_t row = 0; row <= cfg.rows; ++row) {
    const uint32_t step = row == 0 ? 0 : row - 1;
    params.write({.rows = N, .seed = cfg.seed, .step = step});
    const data::MixDraw mix = data::draw_mix(cfg.augment, cfg.seed, step, N, H, W);
    std::memcpy(static_cast<uint32_t*>(labels.host()) + N, &mix, sizeof mix);
    {
      gpu::Replayer r(row == 0 ? original : augmented, 1);
      r.submit(r.acquire());
      r.finish();
    }
    gpu::download(ctx, x, v.data(), v.size() * 4);
    // Back to pixel values in [0, 1] for the picture.
    for (uint64_t e = 0; e < v.size(); ++e) {
      const uint32_t c = uint32_t(e / (uint64_t(H) * W) % C);
      v[e] = float(v[e] * cs.std[c] + cs.mean[c]);
    }
    place_row(grid, row, v, N, C, H, W, H, W, cfg.gap);
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

}  // namespace fovea::report
