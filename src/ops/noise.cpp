#include "ops/noise.h"

#include "util/error.h"

namespace fovea::ops {

void record_gaussian_noise(Program& p, const BlurShape& s, uint32_t seed, const View& x,
                           const View& stats, const std::string& label) {
  if (s.count() == 0 || s.count() > 0xffffffffull) throw Error(label + ": batch x features out of range");
  require_floats(x, s.count(), label);
  require_floats(stats, 2ull * s.channels, label);
  struct {
    uint32_t features, plane, channels, seed;
  } push{uint32_t(s.features()), s.height * s.width, s.channels, seed};
  p.dispatch(label, p.context().kernels().get("noise/gaussian"), {gpu::inout(x), gpu::in(stats)},
             push, stride_groups(s.count()));
}

}  // namespace fovea::ops
