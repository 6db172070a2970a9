#include "ops/dropout.h"

#include <cmath>

#include "util/error.h"

namespace fovea::ops {

namespace {

// The kernel's push constants (shaders/dropout/mask.comp).
struct MaskPush {
  uint32_t count, group, stream, purpose;
  float p, scale, shift_keep, shift_drop, sigma;
  uint32_t quad0;  // quads of values before this dispatch's first (row windows)
  uint32_t row_draws;
};

// scale, shift_keep, shift_drop of the kernel's Bernoulli form (forward:
// the layer's affine map; backward: its slope), sigma of the Gaussian.
MaskPush coefficients(const DropoutMask& m, uint64_t count, bool backward) {
  MaskPush c{uint32_t(count), m.group, m.stream, m.purpose, m.p, 1, 0, 0, 0, 0, m.row_draws};
  const double p = m.p;
  switch (m.kind) {
    case DropoutKind::Dropout:
      c.scale = float(1.0 / (1.0 - p));
      break;
    case DropoutKind::Gaussian:
      c.sigma = float(std::sqrt(p / (1.0 - p)));
      break;
    case DropoutKind::Alpha: {
      const double alpha_prime = -kSeluScale * kSeluAlpha;
      const double a = 1.0 / std::sqrt((1.0 - p) * (1.0 + p * alpha_prime * alpha_prime));
      const double b = -a * alpha_prime * p;
      c.scale = float(a);
      if (!backward) c.shift_keep = float(b), c.shift_drop = float(a * alpha_prime + b);
      break;
    }
  }
  return c;
}

// Values [first, first + count) of the layer's tensor (first > 0 for a
// window of a view over the storage range): their draws keep their indices.
void record_mask(Program& p, const DropoutMask& m, uint64_t count, bool add, bool backward, const View& a,
                 const View& x, const View& y, const std::string& label, uint64_t first = 0) {
  if (count == 0 || first + count > 0xffffffefull) throw Error(label + ": count out of range");
  if (!(m.p >= 0.0f && m.p < 1.0f)) throw Error(label + ": p must be in [0, 1), got " + std::to_string(m.p));
  if (m.group == 0) throw Error(label + ": group must be at least 1");
  require_floats(x, count, label);
  require_floats(a, count, label);
  require_floats(y, count, label);
  // Windows start on the view alignment (>= 16 bytes), so on whole quads.
  if (const auto ws = row_windows(p.context(), count, {{x, 4}, {a, 4}, {y, 4}}, label); ws.size() > 1) {
    for (const RowWindow& r : ws)
      record_mask(p, m, r.rows, add, backward, row_window(a, 4, r), row_window(x, 4, r), row_window(y, 4, r),
                  label, first + r.first);
    return;
  }
  const uint32_t spec[] = {m.kind == DropoutKind::Gaussian ? 1u : 0u, add ? 1u : 0u};
  MaskPush push = coefficients(m, count, backward);
  push.quad0 = uint32_t(first / 4);
  // Without ADD the kernel's binding 2 is statically used but not read: x stands in.
  p.dispatch(label, p.context().kernels().get("dropout/mask", spec), {gpu::in(x), gpu::in(a), gpu::out(y)},
             push, stride_groups((count + 3) / 4));
}

}  // namespace

void record_dropout_forward(Program& p, const DropoutMask& m, uint64_t count, const View& x, const View& y,
                            const std::string& label) {
  record_mask(p, m, count, false, false, x, x, y, label);
}

void record_dropout_add_forward(Program& p, const DropoutMask& m, uint64_t count, const View& a,
                                const View& x, const View& y, const std::string& label) {
  record_mask(p, m, count, true, false, a, x, y, label);
}

void record_dropout_backward(Program& p, const DropoutMask& m, uint64_t count, const View& dy, const View& dx,
                             const std::string& label) {
  record_mask(p, m, count, false, true, dy, dy, dx, label);
}

}  // namespace fovea::ops
