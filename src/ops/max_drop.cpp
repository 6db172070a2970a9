#include "ops/max_drop.h"

#include "util/error.h"

namespace fovea::ops {

namespace {

// Members one invocation of max_drop/reduce scans; longer groups are split.
constexpr uint32_t kChunk = 4096;
// Loop iterations one invocation may run (common.glsl: lavapipe's cap is 65,535).
constexpr uint64_t kLoopBudget = 16384;

// The push block of max_drop/forward and max_drop/backward (max_drop.glsl).
struct MaxDropPush {
  uint32_t count, plane, channels, across_channels, stream;
  float p;
};

MaxDropPush checked(const MaxDropShape& s, float drop_p, uint32_t stream, const View& x,
                    const View& maxima, const std::string& label) {
  if (s.count() == 0)
    throw Error(label + ": empty input " + std::to_string(s.batch) + "x" + std::to_string(s.channels) + "x" +
                std::to_string(s.height) + "x" + std::to_string(s.width));
  if (s.count() >= (1ull << 31)) throw Error(label + ": tensor of 2^31 elements or more");
  if (!(drop_p >= 0 && drop_p <= 1))
    throw Error(label + ": drop probability " + std::to_string(drop_p) + " is outside [0, 1]");
  if (ceil_div(s.count(), 65535ull * 64) > kLoopBudget) throw Error(label + ": tensor too large");
  require_floats(x, s.count(), label + " (x)");
  require_floats(maxima, s.groups(), label + " (maxima)");
  return {uint32_t(s.count()), s.height * s.width, s.channels, s.across_channels ? 1u : 0u, stream, drop_p};
}

}  // namespace

uint64_t MaxDropShape::groups() const {
  return across_channels ? uint64_t(batch) * height * width : uint64_t(batch) * channels;
}

void record_max_drop_forward(Program& p, const MaxDropShape& s, float drop_p, uint32_t stream,
                             const View& x, const View& maxima, const View& y, const std::string& label) {
  const MaxDropPush push = checked(s, drop_p, stream, x, maxima, label);
  require_floats(y, s.count(), label + " (y)");
  const uint32_t groups = uint32_t(s.groups());
  const uint32_t len = uint32_t(s.count() / groups);
  const uint32_t splits = ceil_div(len, kChunk);
  const uint64_t rounds = ceil_div(groups, 65535ull * 64);
  if (rounds * (1 + kChunk) > kLoopBudget)
    throw Error(label + ": " + std::to_string(groups) + " groups exceed the reduction's loop budget");
  struct {
    uint32_t groups, len, inner, chunk;
  } reduce{groups, len, s.across_channels ? s.height * s.width : 1u, kChunk};
  // One chunk: the maxima directly. Several: partials [splits, groups],
  // then the maximum over the splits.
  const View target = splits > 1 ? p.scratch(label + ".partials", 4ull * splits * groups) : maxima;
  const gpu::Kernel& k = p.context().kernels().get("max_drop/reduce");
  p.dispatch(label + ".max", k, {gpu::in(x), gpu::out(target)}, reduce, stride_groups(groups), splits);
  if (splits > 1) {
    reduce.len = splits, reduce.inner = groups;
    p.dispatch(label + ".max.splits", k, {gpu::in(target), gpu::out(maxima)}, reduce, stride_groups(groups));
  }
  p.dispatch(label, p.context().kernels().get("max_drop/forward"), {gpu::in(x), gpu::in(maxima), gpu::out(y)},
             push, stride_groups(s.count()));
}

void record_max_drop_backward(Program& p, const MaxDropShape& s, float drop_p, uint32_t stream,
                              const View& x, const View& maxima, const View& dy, const View& dx,
                              const std::string& label) {
  const MaxDropPush push = checked(s, drop_p, stream, x, maxima, label);
  require_floats(dy, s.count(), label + " (dy)");
  require_floats(dx, s.count(), label + " (dx)");
  p.dispatch(label, p.context().kernels().get("max_drop/backward"),
             {gpu::in(x), gpu::in(maxima), gpu::in(dy), gpu::out(dx)}, push, stride_groups(s.count()));
}

}  // namespace fovea::ops
