#include "ops/augment.h"

#include "ops/tensor.h"
#include "util/error.h"

namespace fovea::ops {

void record_augment(Program& p, const AugmentShape& s, const data::AugmentConfig& cfg, const View& x,
                    const View& scratch, const View& stats, const View& labels, const std::string& label) {
  if (!cfg.any()) return;
  // Grid-stride lanes loop count / (65535 * 64) <= 1024 times, each with
  // at most 10 erase tries: far inside lavapipe's loop budget.
  if (s.count() == 0 || s.count() > 0xffffffffull) throw Error(label + ": batch x features out of range");
  require_floats(x, s.count(), label);
  require_floats(scratch, s.count(), label);
  require_floats(stats, 2ull * s.channels, label);
  if (cfg.mixing()) require_floats(labels, uint64_t(s.batch) + data::kMixWords, label);
  auto& kernels = p.context().kernels();
  const uint32_t groups = stride_groups(s.count());
  const uint32_t features = uint32_t(s.features()), plane = s.height * s.width;
  if (cfg.geometric()) {
    struct {
      uint32_t features, plane, width, height, channels;
      float hflip, vflip;
      uint32_t pad, affine;
      float rotate, translate, scale_lo, scale_hi, shear;
    } push{features, plane, s.width, s.height, s.channels, float(cfg.hflip), float(cfg.vflip),
           cfg.crop_pad, cfg.affine() ? 1u : 0u, float(cfg.rotate_deg), float(cfg.translate),
           float(cfg.scale_lo), float(cfg.scale_hi), float(cfg.shear_deg)};
    p.dispatch(label + ".geometry", kernels.get("augment/geometry"),
               {gpu::in(x), gpu::out(scratch), gpu::in(stats)}, push, groups);
  } else {
    record_copy(p, s.count(), x, scratch, label + ".copy");
  }
  struct {
    uint32_t features, plane, width, height, channels, batch;
    float brightness, contrast, noise;
    uint32_t cutout;
    float erase;
    uint32_t mix;
  } push{features, plane, s.width, s.height, s.channels, s.batch, float(cfg.brightness),
         float(cfg.contrast), float(cfg.noise_std), cfg.cutout, float(cfg.erase), cfg.mixing() ? 1u : 0u};
  p.dispatch(label + ".pixel", kernels.get("augment/pixel"),
             {gpu::in(scratch), gpu::out(x), gpu::in(stats), gpu::in(labels)}, push, groups);
}

}  // namespace fovea::ops
