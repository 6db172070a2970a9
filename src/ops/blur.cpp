#include "ops/blur.h"

#include <cmath>

#include "util/error.h"

namespace fovea::ops {

static void check_shape(const BlurShape& s, const std::string& label) {
  if (s.count() == 0 || s.count() > 0xffffffffull) throw Error(label + ": batch x features out of range");
}

// Rows [row0, row0 + s.batch) of a batch of `batch` rows (row0 > 0 for a
// window of a view over the storage range); max_radius from the whole batch
// so every window blurs with the same taps.
static void blur_rows(Program& p, const BlurShape& s, BlurKind kind, double replay, const View& x,
                      const View& scratch, const std::string& label, uint64_t row0, uint32_t max_radius) {
  const uint64_t row_bytes = s.features() * 4;
  if (const auto ws = row_windows(p.context(), s.batch, {{x, row_bytes}, {scratch, row_bytes}}, label);
      ws.size() > 1) {
    for (const RowWindow& r : ws)
      blur_rows(p, {uint32_t(r.rows), s.channels, s.height, s.width}, kind, replay, row_window(x, row_bytes, r),
                row_window(scratch, row_bytes, r), label, row0 + r.first, max_radius);
    return;
  }
  const uint64_t groups = stride_groups(s.count());
  struct {
    uint32_t count, width, height, row_features;
    float replay;
    uint32_t max_radius, row0;
  } push{uint32_t(s.count()), s.width, s.height, uint32_t(s.features()),
         kind == BlurKind::Image ? float(replay) : 0.0f, max_radius, uint32_t(row0)};
  const uint32_t feature = kind == BlurKind::Feature ? 1u : 0u;
  const uint32_t along_w[] = {0u, feature}, along_h[] = {1u, feature};
  auto& kernels = p.context().kernels();
  p.dispatch(label + ".w", kernels.get("blur/blur", along_w), {gpu::in(x), gpu::out(scratch)}, push,
             uint32_t(groups));
  p.dispatch(label + ".h", kernels.get("blur/blur", along_h), {gpu::in(scratch), gpu::out(x)}, push,
             uint32_t(groups));
}

void record_blur(Program& p, const BlurShape& s, BlurKind kind, double replay, const View& x,
                 const View& scratch, const std::string& label) {
  check_shape(s, label);
  if (!(replay >= 0 && replay <= 1)) throw Error(label + ": replay fraction must be in [0, 1]");
  require_floats(x, s.count(), label);
  require_floats(scratch, s.count(), label);
  const uint64_t groups = stride_groups(s.count());
  // Grid-stride elements per lane times taps stays under the loop limit.
  const uint64_t per_lane = (s.count() + groups * 64 - 1) / (groups * 64);
  const uint32_t max_radius =
      uint32_t(std::min<uint64_t>(kMaxBlurRadius, (60000 / per_lane - 1) / 2));
  blur_rows(p, s, kind, replay, x, scratch, label, 0, max_radius);
}

void record_downsample2(Program& p, const BlurShape& s, const View& x, const View& y,
                        const std::string& label) {
  check_shape(s, label);
  const uint64_t out = uint64_t(s.batch) * s.channels * ((s.height + 1) / 2) * ((s.width + 1) / 2);
  require_floats(x, s.count(), label);
  require_floats(y, out, label);
  struct {
    uint32_t count, width, height;
  } push{uint32_t(out), s.width, s.height};
  p.dispatch(label, p.context().kernels().get("blur/downsample"), {gpu::in(x), gpu::out(y)}, push,
             stride_groups(out));
}

}  // namespace fovea::ops
