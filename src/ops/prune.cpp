#include "ops/prune.h"

#include <limits>

#include "util/error.h"

namespace fovea::ops {

void record_prune_mask(Program& p, const PruneMask& m, const View& indices, const View& params, const View& state,
                       const std::string& label) {
  if (m.count == 0) throw Error(label + ": empty pruning mask");
  const uint64_t state_floats = m.arrays * m.stride;
  if (m.params > std::numeric_limits<uint32_t>::max() || state_floats > std::numeric_limits<uint32_t>::max() ||
      m.count > m.params)
    throw Error(label + ": pruning mask of " + std::to_string(m.count) + " indices over " +
                std::to_string(m.params) + " parameters is out of range");
  if (m.arrays && m.stride < m.params)
    throw Error(label + ": optimizer state stride " + std::to_string(m.stride) + " is shorter than the " +
                std::to_string(m.params) + " parameters");
  require_floats(indices, m.count, label + " (indices)");
  require_floats(params, m.params, label + " (params)");
  if (m.arrays) require_floats(state, state_floats, label + " (state)");
  struct {
    uint32_t count, params, arrays, stride;
  } push{uint32_t(m.count), uint32_t(m.params), m.arrays, uint32_t(m.stride)};
  // Without state arrays the kernel never touches its third binding: the
  // index list stands in, read only.
  p.dispatch(label, p.context().kernels().get("prune/mask"),
             {gpu::in(indices), gpu::inout(params), m.arrays ? gpu::inout(state) : gpu::in(indices)}, push,
             stride_groups(m.count));
}

}  // namespace fovea::ops
