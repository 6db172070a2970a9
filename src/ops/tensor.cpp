#include "ops/tensor.h"

#include "util/error.h"

namespace fovea::ops {

static void record_add_or_copy(Program& p, bool copy, uint64_t count, const View& a,
                               const View& b, const View& y, const std::string& label) {
  if (count == 0 || count > 0xffffffffull) throw Error(label + ": count out of range");
  require_floats(a, count, label);
  require_floats(b, count, label);
  require_floats(y, count, label);
  if (const auto ws = row_windows(p.context(), count, {{a, 4}, {b, 4}, {y, 4}}, label); ws.size() > 1) {
    for (const RowWindow& r : ws)
      record_add_or_copy(p, copy, r.rows, row_window(a, 4, r), row_window(b, 4, r), row_window(y, 4, r), label);
    return;
  }
  const uint32_t spec[] = {copy ? 1u : 0u};
  uint32_t push = uint32_t(count);
  p.dispatch(label, p.context().kernels().get("tensor/add", spec),
             {gpu::in(a), gpu::in(b), gpu::out(y)}, push, stride_groups((count + 3) / 4));
}

void record_add(Program& p, uint64_t count, const View& a, const View& b, const View& y,
                const std::string& label) {
  record_add_or_copy(p, false, count, a, b, y, label);
}

void record_copy(Program& p, uint64_t count, const View& a, const View& y,
                 const std::string& label) {
  // The kernel's second binding is statically used: a stands in (read only).
  record_add_or_copy(p, true, count, a, a, y, label);
}

void record_axpy(Program& p, uint64_t count, uint32_t stride, float beta, const View& a, float alpha,
                 const View& b, const View& y, const std::string& label) {
  if (count == 0 || stride == 0 || (count - 1) * stride >= 0xffffffffull) throw Error(label + ": count out of range");
  const uint64_t span = (count - 1) * stride + 1;
  require_floats(a, span, label);
  require_floats(b, span, label);
  require_floats(y, span, label);
  struct {
    uint32_t count, stride;
    float alpha, beta;
  } push{uint32_t(count), stride, alpha, beta};
  p.dispatch(label, p.context().kernels().get("tensor/axpy"), {gpu::in(a), gpu::in(b), gpu::out(y)}, push,
             stride_groups(count));
}

static void record_channel_copy(Program& p, bool to_y, const ChannelSlice& s, const View& src,
                                const View& dst, const std::string& label) {
  if (!s.batch || !s.cx || !s.plane || s.offset + s.cx > s.cy || s.cx > 65535 || s.batch > 65535)
    throw Error(label + ": channel slice out of range");
  const uint64_t nx = uint64_t(s.batch) * s.cx * s.plane, ny = uint64_t(s.batch) * s.cy * s.plane;
  require_floats(to_y ? src : dst, nx, label);
  require_floats(to_y ? dst : src, ny, label);
  const uint32_t spec[] = {to_y ? 1u : 0u};
  struct {
    uint32_t cx, cy, plane, offset;
  } push{s.cx, s.cy, s.plane, s.offset};
  p.dispatch(label, p.context().kernels().get("tensor/channel_copy", spec),
             {gpu::in(src), gpu::out(dst)}, push, ceil_div(s.plane, 64), s.cx, s.batch);
}

void record_channel_copy_into(Program& p, const ChannelSlice& s, const View& x, const View& y,
                              const std::string& label) {
  record_channel_copy(p, true, s, x, y, label);
}

void record_channel_copy_from(Program& p, const ChannelSlice& s, const View& y, const View& x,
                              const std::string& label) {
  record_channel_copy(p, false, s, y, x, label);
}

}  // namespace fovea::ops
