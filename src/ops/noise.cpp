#include "ops/noise.h"

#include "util/error.h"

namespace fovea::ops {

// Rows [row0, row0 + s.batch) of the batch (row0 > 0 for a window of a view
// over the storage range): the noise keys and P.rows count from the batch's first row.
static void noise_rows(Program& p, const BlurShape& s, uint32_t seed, const View& x, const View& stats,
                       const std::string& label, uint64_t row0) {
  if (s.count() == 0 || s.count() > 0xffffffffull) throw Error(label + ": batch x features out of range");
  require_floats(x, s.count(), label);
  require_floats(stats, 2ull * s.channels, label);
  const uint64_t row_bytes = s.features() * 4;
  if (const auto ws = row_windows(p.context(), s.batch, {{x, row_bytes}}, label); ws.size() > 1) {
    for (const RowWindow& r : ws)
      noise_rows(p, {uint32_t(r.rows), s.channels, s.height, s.width}, seed, row_window(x, row_bytes, r), stats,
                 label, row0 + r.first);
    return;
  }
  struct {
    uint32_t features, plane, channels, seed, row0, rows;
  } push{uint32_t(s.features()), s.height * s.width, s.channels, seed, uint32_t(row0), s.batch};
  p.dispatch(label, p.context().kernels().get("noise/gaussian"), {gpu::inout(x), gpu::in(stats)},
             push, stride_groups(s.count()));
}

void record_gaussian_noise(Program& p, const BlurShape& s, uint32_t seed, const View& x,
                           const View& stats, const std::string& label) {
  noise_rows(p, s, seed, x, stats, label, 0);
}

}  // namespace fovea::ops
