#include "train/pyramid.h"

#include <algorithm>
#include <cstring>

#include "data/sharpening.h"
#include "gpu/context.h"
#include "gpu/recorder.h"
#include "ops/blur.h"
#include "ops/decode.h"
#include "ops/tensor.h"
#include "train/program_params.h"
#include "util/error.h"

namespace fovea::train {
namespace {

// Throws fovea::Error on a bad sigma, range, chunk or standardisation.
void check_config(const data::ImageSet& set, uint32_t first, uint32_t count, const PyramidConfig& cfg) {
  if (cfg.sigmas.empty()) throw Error("blur pyramid: no sigma given");
  for (double s : cfg.sigmas)
    if (!(s >= 0 && s <= data::kMaxSharpenSigma))
      throw Error("blur pyramid: sigma " + std::to_string(s) + " is outside [0, 20] pixels");
  if (count == 0 || uint64_t(first) + count > set.count)
    throw Error(set.images_path + " holds " + std::to_string(set.count) + " images; images " +
                std::to_string(first) + ".." + std::to_string(uint64_t(first) + count - 1) + " asked for");
  if (cfg.chunk == 0 || cfg.chunk % 64 != 0) throw Error("blur pyramid: chunk must be a multiple of 64");
  const uint32_t C = set.channels;
  if ((!cfg.mean.empty() && cfg.mean.size() != C) || (!cfg.std.empty() && cfg.std.size() != C))
    throw Error("blur pyramid: mean/std need one value per channel");
}

}  // namespace

BlurPyramid::BlurPyramid(gpu::Context& ctx, const data::ImageSet& set, uint32_t first, uint32_t count,
                         const PyramidConfig& cfg)
    : ctx_(ctx), count_(count) {
  check_config(set, first, count, cfg);
  const uint32_t C = set.channels, H = set.height, W = set.width;
  const uint64_t D = set.image_bytes();
  const uint32_t chunk = std::min<uint32_t>(cfg.chunk, (count + 63) / 64 * 64);

  // Level shapes, and the device memory: the levels, plus one chunk's
  // decoded images, blur scratch and two decimation buffers.
  uint32_t h = H, w = W;
  for (size_t l = 0; l < cfg.sigmas.size(); ++l) {
    shapes_.push_back({C, h, w});
    if (cfg.downsample) {
      h = (h + 1) / 2;
      w = (w + 1) / 2;
    }
  }
  arena_ = std::make_unique<gpu::Arena>(ctx, gpu::MemoryKind::Device, "pyramid");
  for (uint32_t l = 0; l < levels(); ++l)
    views_.push_back(arena_->reserve("pyramid.level" + std::to_string(l),
                                     4ull * count * C * shapes_[l].height * shapes_[l].width));
  gpu::Arena work(ctx, gpu::MemoryKind::Device, "pyramid.work");
  gpu::Arena upload(ctx, gpu::MemoryKind::Upload, "pyramid.upload");
  auto images = upload.reserve("images", (uint64_t(chunk) * D + 3) / 4 * 4);
  ProgramParams params(upload, "params");
  auto stats = work.reserve("stats", 8ull * C);
  auto x = work.reserve("x", 4ull * chunk * D), blurred = work.reserve("blurred", 4ull * chunk * D);
  auto scratch = work.reserve("scratch", 4ull * chunk * D);
  auto half_a = work.reserve("half.a", 4ull * chunk * D), half_b = work.reserve("half.b", 4ull * chunk * D);
  arena_->commit();
  work.commit();
  upload.commit();
  std::vector<float> ms(2 * C);
  for (uint32_t c = 0; c < C; ++c) {
    ms[c] = cfg.mean.empty() ? 0.0f : float(cfg.mean[c]);
    ms[C + c] = cfg.std.empty() ? 1.0f : float(1.0 / std::max(cfg.std[c], 1e-12));
  }
  gpu::upload(ctx, stats, ms.data(), ms.size() * 4);

  for (uint32_t begin = 0; begin < count; begin += chunk) {
    const uint32_t n = std::min(chunk, count - begin);
    std::memcpy(images.host(), set.pixels.data() + (uint64_t(first) + begin) * D, uint64_t(n) * D);
    gpu::Program decode(ctx, "pyramid.decode");
    decode.set_params(params.view());
    ops::record_decode(decode, {chunk, C, H, W}, images, stats, x, "decode");
    params.write({.rows = n});
    {
      gpu::Replayer r(decode, 1);
      r.submit(r.acquire());
      r.finish();
    }
    for (uint32_t l = 0; l < levels(); ++l) {
      // The training step's blur, sigma from the step parameters.
      gpu::Program prog(ctx, "pyramid.level");
      prog.set_params(params.view());
      ops::record_copy(prog, uint64_t(n) * D, x, blurred, "copy");
      ops::record_blur(prog, {n, C, H, W}, ops::BlurKind::Image, 0.0, blurred, scratch, "blur");
      gpu::View cur = blurred;
      uint32_t ch = H, cw = W;
      for (uint32_t k = 0; k < l && cfg.downsample; ++k) {
        const gpu::View next = k % 2 == 0 ? half_a : half_b;
        ops::record_downsample2(prog, {n, C, ch, cw}, cur, next, "down" + std::to_string(k));
        cur = next;
        ch = (ch + 1) / 2;
        cw = (cw + 1) / 2;
      }
      const uint64_t floats = uint64_t(n) * C * ch * cw;
      const gpu::View dst = views_[l].sub(4ull * begin * C * ch * cw, 4 * floats, "level.chunk");
      ops::record_copy(prog, floats, cur, dst, "store");
      params.write({.rows = n, .blur_sigma = cfg.sigmas[l]});
      gpu::Replayer r(prog, 1);
      r.submit(r.acquire());
      r.finish();
    }
  }
}

BlurPyramid::~BlurPyramid() = default;

std::vector<float> BlurPyramid::download(uint32_t l) const {
  std::vector<float> v(views_.at(l).size / 4);
  gpu::download(ctx_, views_[l], v.data(), v.size() * 4);
  return v;
}

}  // namespace fovea::train
