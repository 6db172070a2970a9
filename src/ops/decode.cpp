#include "ops/decode.h"

#include "util/error.h"

namespace fovea::ops {

void record_decode(Program& p, const DecodeShape& s, const View& images, const View& stats,
                   const View& x, const std::string& label) {
  uint64_t count = uint64_t(s.batch) * s.features();
  if (count == 0 || count > 0xffffffffull) throw Error(label + ": batch x features out of range");
  if (images.size < count) throw Error(label + ": image ring slot too small");
  require_floats(stats, 2ull * s.channels, label);
  require_floats(x, count, label);
  struct {
    uint32_t count, features, plane, channels;
  } push{uint32_t(count), uint32_t(s.features()), s.height * s.width, s.channels};
  const auto& k = p.context().kernels().get("decode/decode");
  p.dispatch(label, k, {gpu::in(images), gpu::in(stats), gpu::out(x)}, push,
             stride_groups((count + 3) / 4));
}

}  // namespace fovea::ops
