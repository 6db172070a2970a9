#include "ops/channel_shuffle.h"

#include <limits>

#include "util/error.h"

namespace fovea::ops {
namespace {

// Writes dst[b, c, p] = src[b, (c % groups) * (C / groups) + c / groups, p]:
// the forward with `groups`, the backward with C / groups.
void gather(Program& p, const ChannelShuffleShape& s, uint32_t groups, const View& src,
            const View& dst, const std::string& label) {
  if (!s.batch || !s.channels || !s.plane || !s.groups || s.channels % s.groups)
    throw Error(label + ": " + std::to_string(s.groups) + " groups must divide " +
                std::to_string(s.channels) + " channels (and no size may be 0)");
  const uint64_t row = uint64_t(s.channels) * s.plane, count = s.batch * row;
  if (count > std::numeric_limits<uint32_t>::max())
    throw Error(label + ": " + std::to_string(count) + " values is more than 2^32 - 1");
  require_floats(src, count, label + " (input)");
  require_floats(dst, count, label + " (output)");
  if (const auto ws = row_windows(p.context(), s.batch, {{src, row * 4}, {dst, row * 4}}, label);
      ws.size() > 1) {
    for (const RowWindow& w : ws) {
      ChannelShuffleShape part = s;
      part.batch = uint32_t(w.rows);
      gather(p, part, groups, row_window(src, row * 4, w), row_window(dst, row * 4, w), label);
    }
    return;
  }
  // A plane of a multiple of 4 values moves as vec4: every channel row then
  // starts on a 16-byte boundary.
  const uint32_t vec4 = s.plane % 4 == 0 ? 1u : 0u;
  const uint32_t unit = vec4 ? 4 : 1;
  struct {
    uint32_t count, plane, channels, groups;
  } push{uint32_t(count / unit), s.plane / unit, s.channels, groups};
  const uint32_t spec[] = {vec4};
  p.dispatch(label, p.context().kernels().get("channel_shuffle/shuffle", spec),
             {gpu::in(src), gpu::out(dst)}, push, stride_groups(count / unit));
}

}  // namespace

void record_channel_shuffle_forward(Program& p, const ChannelShuffleShape& s, const View& x,
                                    const View& y, const std::string& label) {
  gather(p, s, s.groups, x, y, label);
}

void record_channel_shuffle_backward(Program& p, const ChannelShuffleShape& s, const View& dy,
                                     const View& dx, const std::string& label) {
  gather(p, s, s.groups ? s.channels / s.groups : 0, dy, dx, label);
}

}  // namespace fovea::ops
