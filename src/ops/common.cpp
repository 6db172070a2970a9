#include "ops/common.h"

#include <algorithm>
#include <numeric>

#include "ops/tensor.h"
#include "util/error.h"

namespace fovea::ops {

uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

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
  const uint64_t range = ctx.info().max_storage_range, align = ctx.info().view_alignment;
  uint64_t widest = scratch_row_bytes, step = 1;
  bool fits = rows * scratch_row_bytes <= range;
  for (const RowView& r : views) {
    if (!r.view.valid() || r.row_bytes == 0) continue;
    fits = fits && std::min(r.view.size, rows * r.row_bytes) <= range;
    widest = std::max(widest, r.row_bytes);
    // first * row_bytes must be a multiple of align: first a multiple of this.
    step = std::lcm(step, align / std::gcd(r.row_bytes, align));
  }
  if (fits || rows == 0) return {{0, rows}};
  const uint64_t per = range / widest / step * step;
  if (per == 0)
    throw Error(label + ": a row of " + std::to_string(widest) + " bytes (" + std::to_string(step) +
                " rows for the device's " + std::to_string(align) +
                "-byte alignment) is more than the device's storage-buffer range of " +
                std::to_string(range) + " bytes");
  std::vector<RowWindow> windows;
  for (uint64_t first = 0; first < rows; first += per) windows.push_back({first, std::min(per, rows - first)});
  return windows;
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
