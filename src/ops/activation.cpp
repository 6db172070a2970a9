#include "ops/activation.h"

#include <cmath>
#include <limits>

#include "util/error.h"

namespace fovea::ops {

namespace {

constexpr const char* kNames[] = {"relu", "leaky_relu", "elu",     "selu",
                                  "gelu", "tanh",       "sigmoid", "softplus"};
// The kernels' KIND for erf alone (shaders/activation/kinds.glsl ACT_ERF).
constexpr uint32_t kErfKind = 8;

struct Push {
  uint32_t count;
  float slope, alpha, beta, threshold;
};

Push make_push(const ActivationParams& q, uint64_t count, const std::string& label) {
  // The kernels index 32-bit words with 32-bit integers.
  if (count > std::numeric_limits<uint32_t>::max())
    throw Error(label + ": " + std::to_string(count) + " values is more than 2^32 - 1");
  if (!std::isfinite(q.slope) || !std::isfinite(q.alpha) || !std::isfinite(q.beta) ||
      !std::isfinite(q.threshold) || q.beta == 0.0f)
    throw Error(label + ": activation parameters must be finite and beta non-zero");
  return {uint32_t(count), q.slope, q.alpha, q.beta, q.threshold};
}

// Lanes each map 4 values; the scalar tail (count % 4 <= 3 values) is taken
// by the first lanes of the grid.
uint32_t groups(uint64_t count) { return stride_groups(count / 4); }

void forward(Program& p, uint32_t kind, const ActivationParams& q, uint64_t count, const View& x,
             const View& y, const std::string& label) {
  const Push push = make_push(q, count, label);
  require_floats(x, count, label);
  require_floats(y, count, label);
  if (const auto ws = row_windows(p.context(), count, {{x, 4}, {y, 4}}, label); ws.size() > 1) {
    for (const RowWindow& r : ws) forward(p, kind, q, r.rows, row_window(x, 4, r), row_window(y, 4, r), label);
    return;
  }
  const uint32_t spec[] = {kind};
  p.dispatch(label, p.context().kernels().get("activation/forward", spec),
             {gpu::in(x), gpu::out(y)}, push, groups(count));
}

}  // namespace

Activation parse_activation(std::string_view name) {
  for (uint32_t i = 0; i < std::size(kNames); ++i)
    if (name == kNames[i]) return Activation(i);
  std::string valid;
  for (const char* n : kNames) valid += std::string(valid.empty() ? "" : ", ") + n;
  throw Error("unknown activation '" + std::string(name) + "': valid names are " + valid);
}

const char* activation_name(Activation a) {
  return uint32_t(a) < std::size(kNames) ? kNames[uint32_t(a)] : "unknown";
}

bool activation_backward_uses_output(Activation a) {
  return a == Activation::Tanh || a == Activation::Sigmoid;
}

void record_activation_forward(Program& p, Activation a, const ActivationParams& q, uint64_t count,
                               const View& x, const View& y, const std::string& label) {
  forward(p, uint32_t(a), q, count, x, y, label);
}

void record_activation_backward(Program& p, Activation a, const ActivationParams& q, uint64_t count,
                                const View& x, const View& y, const View& dy, const View& dx,
                                const std::string& label) {
  const Push push = make_push(q, count, label);
  const bool from_y = activation_backward_uses_output(a);
  const View& src = from_y ? y : x;
  if (!src.valid())
    throw Error(label + ": the " + activation_name(a) + " backward needs the forward " +
                (from_y ? "output y" : "input x"));
  require_floats(src, count, label);
  require_floats(dy, count, label);
  require_floats(dx, count, label);
  if (const auto ws = row_windows(p.context(), count, {{x, 4}, {y, 4}, {dy, 4}, {dx, 4}}, label); ws.size() > 1) {
    for (const RowWindow& r : ws)
      record_activation_backward(p, a, q, r.rows, row_window(x, 4, r), row_window(y, 4, r), row_window(dy, 4, r),
                                 row_window(dx, 4, r), label);
    return;
  }
  const uint32_t spec[] = {uint32_t(a)};
  p.dispatch(label, p.context().kernels().get("activation/backward", spec),
             {gpu::in(src), gpu::in(dy), gpu::out(dx)}, push, groups(count));
}

void record_relu_forward(Program& p, uint64_t count, const View& x, const View& y,
                         const std::string& label) {
  record_activation_forward(p, Activation::Relu, {}, count, x, y, label);
}

void record_relu_backward(Program& p, uint64_t count, const View& y, const View& dy, const View& dx,
                          const std::string& label) {
  record_activation_backward(p, Activation::Relu, {}, count, y, View{}, dy, dx, label);
}

void record_erf(Program& p, uint64_t count, const View& x, const View& y,
                const std::string& label) {
  forward(p, kErfKind, {}, count, x, y, label);
}

}  // namespace fovea::ops
