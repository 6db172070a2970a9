#include "ops/channel_scale.h"

#include <limits>

#include "ops/dense.h"
#include "util/error.h"

namespace fovea::ops {
namespace {

// No invocation may loop more than this many times (common.glsl).
constexpr uint64_t kLoopBudget = 16384;

uint64_t check_shape(const ChannelScaleShape& sh, const std::string& label) {
  if (!sh.batch || !sh.channels || !sh.plane)
    throw Error(label + ": empty tensor (batch " + std::to_string(sh.batch) + ", channels " +
                std::to_string(sh.channels) + ", plane " + std::to_string(sh.plane) + ")");
  const uint64_t count = uint64_t(sh.batch) * sh.channels * sh.plane;
  if (count > std::numeric_limits<uint32_t>::max())
    throw Error(label + ": " + std::to_string(count) + " values is more than 2^32 - 1");
  return count;
}

// dst = src * s per row of `plane` values (the forward, and dx = dy s).
void scale(Program& p, const ChannelScaleShape& sh, const View& src, const View& s, const View& dst,
           const std::string& label) {
  const uint64_t count = uint64_t(sh.batch) * sh.channels * sh.plane;
  const uint32_t vec4 = sh.plane % 4 == 0 ? 1u : 0u, unit = vec4 ? 4 : 1;
  struct {
    uint32_t count, plane;
  } push{uint32_t(count / unit), sh.plane / unit};
  const uint32_t spec[] = {vec4};
  p.dispatch(label, p.context().kernels().get("channel_scale/scale", spec),
             {gpu::in(src), gpu::in(s), gpu::out(dst)}, push, stride_groups(count / unit));
}

// ds[r] = sum_p dy[r, p] x[r, p], r < batch * channels.
void plane_dot(Program& p, const ChannelScaleShape& sh, const View& x, const View& dy, const View& ds,
               const std::string& label) {
  const uint32_t rows = sh.batch * sh.channels, splits = ceil_div(sh.plane, kScaleChunk);
  const uint32_t vec4 = sh.plane % 4 == 0 ? 1u : 0u;
  const uint64_t per_lane = ceil_div(rows, 65535ull * 64) * uint64_t(vec4 ? kScaleChunk / 4 : kScaleChunk);
  if (per_lane > kLoopBudget || splits > kSplitK)
    throw Error(label + ": " + std::to_string(rows) + " rows of " + std::to_string(sh.plane) +
                " values are too many to sum within the loop budget");
  const View target = splits > 1 ? p.scratch(label + ".partials", uint64_t(splits) * rows * 4) : ds;
  struct {
    uint32_t rows, plane, chunk;
  } push{rows, sh.plane, kScaleChunk};
  const uint32_t spec[] = {vec4};
  p.dispatch(label + ".ds", p.context().kernels().get("channel_scale/dot", spec),
             {gpu::in(x), gpu::in(dy), gpu::out(target)}, push, stride_groups(rows), splits);
  if (splits == 1) return;
  SplitReduce r;
  r.M = 1, r.N = rows, r.splits = splits, r.c_rs = rows;
  record_split_reduce(p, r, target, View{}, ds, label + ".ds");
}

}  // namespace

void record_channel_scale_forward(Program& p, const ChannelScaleShape& sh, const View& x, const View& s,
                                  const View& y, const std::string& label) {
  const uint64_t count = check_shape(sh, label);
  const uint64_t row = uint64_t(sh.channels) * sh.plane * 4, srow = uint64_t(sh.channels) * 4;
  require_floats(x, count, label + " (x)");
  require_floats(s, uint64_t(sh.batch) * sh.channels, label + " (s)");
  require_floats(y, count, label + " (y)");
  if (const auto ws = row_windows(p.context(), sh.batch, {{x, row}, {s, srow}, {y, row}}, label); ws.size() > 1) {
    for (const RowWindow& w : ws)
      record_channel_scale_forward(p, {uint32_t(w.rows), sh.channels, sh.plane}, row_window(x, row, w),
                                   row_window(s, srow, w), row_window(y, row, w), label);
    return;
  }
  scale(p, sh, x, s, y, label);
}

void record_channel_scale_backward(Program& p, const ChannelScaleShape& sh, const View& x, const View& s,
                                   const View& dy, const View& dx, const View& ds, const std::string& label) {
  const uint64_t count = check_shape(sh, label);
  const uint64_t row = uint64_t(sh.channels) * sh.plane * 4, srow = uint64_t(sh.channels) * 4;
  require_floats(dy, count, label + " (dy)");
  if (dx.valid()) {
    require_floats(s, uint64_t(sh.batch) * sh.channels, label + " (s)");
    require_floats(dx, count, label + " (dx)");
  }
  if (ds.valid()) {
    require_floats(x, count, label + " (x)");
    require_floats(ds, uint64_t(sh.batch) * sh.channels, label + " (ds)");
  }
  const auto ws = row_windows(p.context(), sh.batch,
                              {{x, ds.valid() ? row : 0}, {s, dx.valid() ? srow : 0}, {dy, row}, {dx, row}, {ds, srow}},
                              label);
  if (ws.size() > 1) {
    for (const RowWindow& w : ws)
      record_channel_scale_backward(p, {uint32_t(w.rows), sh.channels, sh.plane}, row_window(x, row, w),
                                    row_window(s, srow, w), row_window(dy, row, w), row_window(dx, row, w),
                                    row_window(ds, srow, w), label);
    return;
  }
  if (dx.valid()) scale(p, sh, dy, s, dx, label + ".dx");
  if (ds.valid()) plane_dot(p, sh, x, dy, ds, label);
}

}  // namespace fovea::ops
