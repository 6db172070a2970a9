#include "ops/decode.h"

#include "util/error.h"

namespace fovea::ops {

// Rows [row0, row0 + s.batch) of the batch (row0 > 0 for a window of a view
// over the storage range): rows past P.rows still decode to 0.
static void decode_rows(Program& p, const DecodeShape& s, const View& images, const View& stats,
                        const View& x, const std::string& label, uint64_t row0) {
  uint64_t count = uint64_t(s.batch) * s.features();
  if (count == 0 || count > 0xffffffffull) throw Error(label + ": batch x features out of range");
  if (images.size < count) throw Error(label + ": image ring slot too small");
  require_floats(stats, 2ull * s.channels, label);
  require_floats(x, count, label);
  const uint64_t features = s.features();
  if (const auto ws = row_windows(p.context(), s.batch, {{images, features}, {x, features * 4}}, label);
      ws.size() > 1) {
    for (const RowWindow& r : ws)
      decode_rows(p, {uint32_t(r.rows), s.channels, s.height, s.width}, row_window(images, features, r), stats,
                  row_window(x, features * 4, r), label, row0 + r.first);
    return;
  }
  struct {
    uint32_t count, features, plane, channels, row0;
  } push{uint32_t(count), uint32_t(s.features()), s.height * s.width, s.channels, uint32_t(row0)};
  const auto& k = p.context().kernels().get("decode/decode");
  p.dispatch(label, k, {gpu::in(images), gpu::in(stats), gpu::out(x)}, push,
             stride_groups((count + 3) / 4));
}

void record_decode(Program& p, const DecodeShape& s, const View& images, const View& stats,
                   const View& x, const std::string& label) {
  decode_rows(p, s, images, stats, x, label, 0);
}

}  // namespace fovea::ops
