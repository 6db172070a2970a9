#include "ops/augment.h"

#include "ops/tensor.h"
#include "util/error.h"

namespace fovea::ops {

uint32_t augment_draws_header(const AugmentShape& s) { return 2 * s.channels + data::kMixWords; }

uint64_t augment_draws_words(const AugmentShape& s) {
  return augment_draws_header(s) + uint64_t(s.batch) * kAugmentDrawWords;
}

void record_augment_draws(Program& p, const AugmentShape& s, const data::AugmentConfig& cfg, const View& stats,
                          const View& labels, const View& draws, const std::string& label) {
  if (s.batch == 0 || s.channels == 0 || s.batch > 65535ull * 64) throw Error(label + ": batch out of range");
  require_floats(stats, 2ull * s.channels, label);
  require_floats(draws, augment_draws_words(s), label);
  if (cfg.mixing()) require_floats(labels, uint64_t(s.batch) + data::kMixWords, label);
  struct {
    uint32_t width, height, channels, batch, header;
    float hflip, vflip;
    uint32_t pad, affine;
    float rotate, translate, scale_lo, scale_hi, shear, brightness, contrast;
    uint32_t cutout;
    float erase;
    uint32_t mix;
  } push{s.width, s.height, s.channels, s.batch, augment_draws_header(s), float(cfg.hflip), float(cfg.vflip),
         cfg.crop_pad, cfg.affine() ? 1u : 0u, float(cfg.rotate_deg), float(cfg.translate), float(cfg.scale_lo),
         float(cfg.scale_hi), float(cfg.shear_deg), float(cfg.brightness), float(cfg.contrast), cfg.cutout,
         float(cfg.erase), cfg.mixing() ? 1u : 0u};
  p.dispatch(label, p.context().kernels().get("augment/draws"), {gpu::in(stats), gpu::in(labels), gpu::out(draws)},
             push, ceil_div(s.batch, 64));
}

void record_augment(Program& p, const AugmentShape& s, const data::AugmentConfig& cfg, const View& x,
                    const View& scratch, const View& stats, const View& labels, const std::string& label) {
  if (!cfg.any()) return;
  // Grid-stride lanes loop count / (65535 * 64) <= 1024 times, with no
  // inner loop (the draws kernel's erase tries run once per image).
  if (s.count() == 0 || s.count() > 0xffffffffull) throw Error(label + ": batch x features out of range");
  require_floats(x, s.count(), label);
  require_floats(scratch, s.count(), label);
  const View draws = p.scratch(label + ".draws", 4 * augment_draws_words(s));
  record_augment_draws(p, s, cfg, stats, labels, draws, label + ".draws");
  auto& kernels = p.context().kernels();
  const uint32_t groups = stride_groups(s.count());
  const uint32_t features = uint32_t(s.features()), plane = s.height * s.width, header = augment_draws_header(s);
  if (cfg.geometric()) {
    struct {
      uint32_t features, plane, width, height, channels, header, pad, affine;
    } push{features, plane, s.width, s.height, s.channels, header, cfg.crop_pad, cfg.affine() ? 1u : 0u};
    p.dispatch(label + ".geometry", kernels.get("augment/geometry"),
               {gpu::in(x), gpu::out(scratch), gpu::in(draws)}, push, groups);
  } else {
    record_copy(p, s.count(), x, scratch, label + ".copy");
  }
  struct {
    uint32_t features, plane, width, height, channels, header;
    float brightness, contrast, noise;
    uint32_t cutout;
    float erase;
    uint32_t mix;
  } push{features, plane, s.width, s.height, s.channels, header, float(cfg.brightness),
         float(cfg.contrast), float(cfg.noise_std), cfg.cutout, float(cfg.erase), cfg.mixing() ? 1u : 0u};
  p.dispatch(label + ".pixel", kernels.get("augment/pixel"), {gpu::in(scratch), gpu::out(x), gpu::in(draws)},
             push, groups);
}

}  // namespace fovea::ops
