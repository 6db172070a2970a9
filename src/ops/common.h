// What every op family shares: the recorder types and dispatch geometry.
// Ops never call Vulkan: they check shapes, pick a kernel and append
// dispatches (with the ranges they read and write) to a Program.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "gpu/recorder.h"

namespace fovea::ops {

using gpu::Program;
using gpu::View;

// Workgroups for a grid-stride kernel of 64 lanes over `count` elements,
// capped at the Vulkan 1.1 minimum maxComputeWorkGroupCount (65,535); each
// lane then loops count / (65535 * 64) times at most.
uint32_t stride_groups(uint64_t count);

inline uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

// A batch of images or feature maps, [batch, C, H, W] row-major.
struct BatchShape {
  uint32_t batch = 0;
  uint32_t channels = 0, height = 0, width = 0;
  uint64_t features() const { return uint64_t(channels) * height * width; }
  uint64_t count() const { return uint64_t(batch) * features(); }
};

// Throws fovea::Error when `v` holds fewer than `floats` 32-bit values.
void require_floats(const View& v, uint64_t floats, const std::string& what);

// Row windows: a batch-major tensor larger than the device's storage-buffer
// range (DeviceInfo::max_storage_range) cannot be bound whole, so an op over
// it runs its kernels once per window of rows [first, first + rows), binding
// the window's sub-views. Row-independent ops give the same result as one
// dispatch; ops that sum over rows add per-window results (WindowSums).
struct RowWindow {
  uint64_t first = 0, rows = 0;
};
// A view bound by an op, split by rows of `row_bytes` bytes each.
struct RowView {
  const View& view;
  uint64_t row_bytes;
};
// Windows covering [0, rows) in order (KernelPolicy::row_windows): one when
// every view already fits the range; otherwise as many rows per window as every view's window fits, with
// each window's first byte on the device's view alignment. scratch_row_bytes:
// scratch per row that the op allocates and binds whole (a batched GEMM's
// per-image partial products), which must fit too. Throws fovea::Error
// naming `label` when even the smallest window does not fit.
std::vector<RowWindow> row_windows(const gpu::Context& ctx, uint64_t rows,
                                   std::initializer_list<RowView> views, const std::string& label,
                                   uint64_t scratch_row_bytes = 0);
// The window's rows of v; an invalid (unbound) view stays invalid.
View row_window(const View& v, uint64_t row_bytes, const RowWindow& w);
// Per-window results of an op that sums over rows (a weight gradient): one
// partial of `floats` values per window in program scratch, then added up in
// window order. With windows or floats 0 there are none (part() is invalid).
class WindowSums {
 public:
  WindowSums(Program& p, uint64_t windows, uint64_t floats, std::string label);
  View part(uint64_t k) const;
  // out[j] = sum over windows k, in order, of part(k)[j].
  void record_sum(const View& out) const;

 private:
  Program& p_;
  uint64_t windows_, floats_, stride_ = 0;  // stride_: floats from one part to the next
  std::string label_;
  View parts_;
};

}  // namespace fovea::ops
