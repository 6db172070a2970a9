#include "ops/common.h"

#include <algorithm>

#include "ops/kernel_policy.h"
#include "ops/tensor.h"
#include "util/error.h"

namespace fovea::ops {

uint32_t stride_groups(uint64_t count) {
  return uint32_t(std::clamp<uint64_t>(ceil_div(count, 64), 1, 65535));
}

void require_floats(const View& v, uint64_t floats, const std::string& what) {
  if (v.size < floats * 4)
    throw Error(what + ": view " + v.name + " holds " + std::to_string(v.size / 4) +
                " values, needs " + std::to_string(floats));
}

std::vector<RowWindow> row_windows(const gpu::Context& ctx, uint64_t rows,
                                   std::initializer_list<RowView> views, const std::string& label,
                                   uint64_t scratch_row_bytes) {
  return KernelPolicy::of(ctx).row_windows(rows, views, label, scratch_row_bytes);
}

View row_window(const View& v, uint64_t row_bytes, const RowWindow& w) {
  if (!v.valid()) return v;
  return v.sub(w.first * row_bytes, w.rows * row_bytes,
               v.name + "[" + std::to_string(w.first) + ":" + std::to_string(w.first + w.rows) + "]");
}

WindowSums::WindowSums(Program& p, uint64_t windows, uint64_t floats, std::string label)
    : p_(p), windows_(floats ? windows : 0), floats_(floats), label_(std::move(label)) {
  if (!windows_) return;
  if (floats > 0xffffffffull) throw Error(label_ + ": too many values to add up");
  // Each partial starts on the view alignment, so it can be bound alone.
  const uint64_t align = p.context().info().view_alignment / 4;
  stride_ = (floats + align - 1) / align * align;
  parts_ = p.scratch(label_ + ".windows", windows_ * stride_ * 4);
}

View WindowSums::part(uint64_t k) const {
  if (!windows_) return View{};
  return parts_.sub(k * stride_ * 4, floats_ * 4, parts_.name + "[" + std::to_string(k) + "]");
}

void WindowSums::record_sum(const View& out) const {
  if (!windows_ || !out.valid()) return;
  // out = part 0, then out += part k in window order (the order of one
  // split-K reduce); copy and add split into windows themselves when a part
  // is over the storage range.
  record_copy(p_, floats_, part(0), out, label_ + ".windows");
  for (uint64_t k = 1; k < windows_; ++k) record_add(p_, floats_, out, part(k), out, label_ + ".windows");
}

}  // namespace fovea::ops
