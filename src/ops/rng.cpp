#include "ops/rng.h"

#include "util/error.h"

namespace fovea::ops {

void record_philox_bits(Program& p, uint32_t blocks, const std::array<uint32_t, 4>& ctr,
                        const std::array<uint32_t, 2>& key, const View& out, const std::string& label) {
  if (blocks == 0) throw Error(label + ": no blocks to generate");
  require_floats(out, 4ull * blocks, label);
  struct {
    uint32_t ctr[4], key[2], blocks, pad;
  } push{{ctr[0], ctr[1], ctr[2], ctr[3]}, {key[0], key[1]}, blocks, 0};
  p.dispatch(label, p.context().kernels().get("rng/bits"), {gpu::out(out)}, push, stride_groups(blocks));
}

}  // namespace fovea::ops
