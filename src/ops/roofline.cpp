#include "ops/roofline.h"

#include <algorithm>

#include "util/error.h"

namespace fovea::ops {

void record_fma_loop(Program& p, const FmaLoop& f, const View& x, const View& y, const std::string& label) {
  if (f.count == 0 || f.iterations == 0 || f.iterations > 65535)
    throw Error(label + ": count must be positive and iterations in [1, 65535]");
  if (uint64_t(f.count) > 65535ull * 64) throw Error(label + ": too many values for one dispatch");
  require_floats(x, f.count, label + " (x)");
  require_floats(y, f.count, label + " (y)");
  p.dispatch(label, p.context().kernels().get("roofline/fma"), {gpu::in(x), gpu::out(y)}, f, ceil_div(f.count, 64));
  p.cost(f.flops(), 8.0 * f.count);
}

void record_stream_copy(Program& p, uint64_t count4, const View& x, const View& y, const std::string& label) {
  if (count4 == 0 || count4 > 512ull * 64 * 4096) throw Error(label + ": count out of range");
  require_floats(x, 4 * count4, label + " (x)");
  require_floats(y, 4 * count4, label + " (y)");
  const uint32_t push = uint32_t(count4);
  p.dispatch(label, p.context().kernels().get("roofline/copy"), {gpu::in(x), gpu::out(y)}, push,
             std::min<uint32_t>(512, ceil_div(count4, 64)));
  p.cost(0, 32.0 * double(count4));
}

}  // namespace fovea::ops
