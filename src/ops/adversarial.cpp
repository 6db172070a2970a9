#include "ops/adversarial.h"

#include <cmath>
#include <limits>

#include "util/error.h"

namespace fovea::ops {

void record_adversarial_step(Program& p, const AdversarialStep& a, const View& stats, const View& x0,
                             const View& g, const View& x, const std::string& label) {
  const BatchShape& s = a.shape;
  auto unit = [](float v) { return std::isfinite(v) && v >= 0.0f && v <= 1.0f; };
  if (!unit(a.eps) || !unit(a.alpha) || !unit(a.probability))
    throw Error(label + ": eps, step and probability must be in [0, 1] (got " + std::to_string(a.eps) + ", " +
                std::to_string(a.alpha) + ", " + std::to_string(a.probability) + ")");
  if (s.count() == 0) throw Error(label + ": empty batch");
  if (s.count() > std::numeric_limits<uint32_t>::max())
    throw Error(label + ": " + std::to_string(s.count()) + " values is more than 2^32 - 1");
  const uint64_t row = s.features() * 4;
  require_floats(stats, 2ull * s.channels, label + " (stats)");
  require_floats(x0, s.count(), label + " (x0)");
  require_floats(g, s.count(), label + " (g)");
  require_floats(x, s.count(), label + " (x)");
  const auto ws = row_windows(p.context(), s.batch, {{x0, row}, {g, row}, {x, row}}, label);
  for (const RowWindow& w : ws) {
    struct {
      uint32_t count, plane, channels, row0, features;
      float eps, alpha, probability;
    } push{uint32_t(w.rows * s.features()), s.height * s.width, s.channels, uint32_t(w.first),
           uint32_t(s.features()), a.eps, a.alpha, a.probability};
    const uint32_t spec[] = {a.first ? 1u : 0u};
    const View wx0 = row_window(x0, row, w), wg = row_window(g, row, w), wx = row_window(x, row, w);
    p.dispatch(label, p.context().kernels().get("adversarial/step", spec),
               {gpu::in(stats), gpu::in(wx0), gpu::in(wg), a.first ? gpu::out(wx) : gpu::inout(wx)}, push,
               stride_groups(push.count));
  }
}

}  // namespace fovea::ops
