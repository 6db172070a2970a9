#include "ops/kernel_policy.h"

#include <algorithm>
#include <numeric>
#include <sstream>

#include "ops/conv2d.h"
#include "ops/dense.h"
#include "util/error.h"

namespace fovea::ops {

namespace {

constexpr VkSubgroupFeatureFlags kReduceOps = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
// Convolutions under this many FLOPs take the implicit GEMM's variant 0
// untimed (unless the tuning file has a choice).
constexpr double kTuneMinFlops = 2e7;

bool m4(uint32_t x) { return x % 4 == 0; }

}  // namespace

KernelPolicy::KernelPolicy(const gpu::DeviceInfo& info, const gpu::KernelOptions& opts)
    : info_(info), opts_(opts) {}

// Context::kernel_options resolves FOVEA_LIMITS=vulkan11-min to portable too.
bool KernelPolicy::portable() const { return opts_.portable; }

bool KernelPolicy::fp16_columns() const { return !portable() && opts_.half_precision && opts_.fp16_storage; }

// The coopmat GEMM assumes subgroups of 32 (4 per 128-invocation workgroup,
// each picking its tile by gl_SubgroupID).
bool KernelPolicy::coop_matrix_enabled() const {
  return !portable() && opts_.half_precision && opts_.coop_matrix && info_.subgroup_size == 32 &&
         info_.max_invocations >= 128 && (info_.subgroup_ops & VK_SUBGROUP_FEATURE_BASIC_BIT);
}

bool KernelPolicy::coop_matrix(const GemmShape& g) const {
  return coop_matrix_enabled() && (!g.b_f16 || fp16_columns()) && g.M >= 16 && g.N >= 16 &&
         2.0 * g.batch * g.M * g.N * g.K >= kCoopMinFlops && ceil_div(g.M, 32) <= 65535 &&
         ceil_div(g.N, 32) <= 65535;
}

uint32_t KernelPolicy::gemm_k_chunk(const GemmShape& g) const {
  if (portable() || !opts_.occupancy_split_k) return kSplitK;
  const uint64_t tiles = uint64_t(ceil_div(g.M, 32u)) * ceil_div(g.N, 32u) * g.batch;
  if (tiles >= kFillGroups || g.K < 2 * kMinSplitChunk) return kSplitK;
  const uint64_t want = ceil_div(uint64_t(kFillGroups), tiles);
  const uint64_t chunk = (ceil_div(uint64_t(g.K), want) + 15) / 16 * 16;
  return uint32_t(std::clamp<uint64_t>(chunk, kMinSplitChunk, kSplitK));
}

bool KernelPolicy::texel_views(std::initializer_list<View> views, uint32_t texel_bytes) const {
  if (portable()) return false;
  for (const View& v : views)
    if (v.offset % info_.view_alignment || v.size % texel_bytes || v.size / texel_bytes > info_.max_texel_elements)
      return false;
  return true;
}

// The texel-buffer kernels (shaders/dense/gemm_{nt,nn,tn}.comp) need every
// vectorised dimension and stride to be a multiple of 4 and both operands to
// fit a texel buffer; else the portable kernel (fp16 B: dense/gemm_b16).
GemmChoice KernelPolicy::gemm(const GemmShape& g, const View& a, const View& b) const {
  GemmChoice c;
  c.k_chunk = gemm_k_chunk(g);
  if (coop_matrix(g)) {
    c.kernel = g.b_f16 ? "dense/gemm_coopmat_b16" : "dense/gemm_coopmat";
    c.coop_matrix = true;
    return c;
  }
  if (g.b_f16) c.kernel = "dense/gemm_b16";
  if (g.b_f16 || !texel_views({a, b}, 16)) return c;
  if (!m4(g.a_bs) || !m4(g.b_bs) || !m4(g.a_off) || !m4(g.b_off)) return c;
  // Register blocks per lane: nt 4x4 outputs; nn 4 rows x 2 column vec4s;
  // tn 2 row vec4s x 1 column vec4 (8x4 outputs: register blocking, docs/devices.md).
  if (g.a_ks == 1 && g.b_ks == 1 && m4(g.a_rs) && m4(g.b_cs) && m4(g.K))
    c.kernel = "dense/gemm_nt";
  else if (g.a_ks == 1 && g.b_cs == 1 && m4(g.a_rs) && m4(g.K) && m4(g.b_ks) && m4(g.N))
    c.kernel = "dense/gemm_nn", c.rn = 2, c.cols = 4;
  else if (g.a_rs == 1 && g.b_cs == 1 && m4(g.a_ks) && m4(g.M) && m4(g.b_ks) && m4(g.N))
    c.kernel = "dense/gemm_tn", c.rm = 2, c.rn = 1, c.rows = 4, c.cols = 4;
  else
    return c;
  c.texel = true;
  return c;
}

// The implicit GEMM (shaders/conv2d/implicit_gemm.comp) reads its input and w
// through r32f texel buffers and broadcasts weights by subgroup shuffles.
bool KernelPolicy::implicit_gemm(const Conv2dShape& s, bool forward) const {
  const uint32_t groups = std::max(s.groups, 1u);
  const uint64_t in_c = forward ? s.in_channels : s.out_channels;
  const uint64_t out_c = forward ? s.out_channels : s.in_channels;
  const uint64_t in_floats = s.batch * in_c * (forward ? uint64_t(s.height) * s.width : s.out_plane());
  const uint64_t out_plane = forward ? s.out_plane() : uint64_t(s.height) * s.width;
  const uint64_t w_floats = uint64_t(s.out_channels) * (s.in_channels / groups) * s.taps();
  return !portable() && info_.subgroup_size >= 8 && (info_.subgroup_ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) &&
         (in_c / groups + 1) * s.taps() <= kSplitK && in_floats <= info_.max_texel_elements &&
         w_floats <= info_.max_texel_elements && ceil_div(out_plane, kImplicitMinBlock) <= info_.max_group_count_x &&
         groups * uint64_t(ceil_div(out_c / groups, kImplicitChannels)) <= 65535 &&
         info_.max_invocations >= kImplicitMaxLanes;
}

bool KernelPolicy::implicit_views(const View& in, const View& w) const {
  return in.offset % info_.view_alignment == 0 && w.offset % info_.view_alignment == 0;
}

ConvChoice KernelPolicy::conv2d(const Conv2dShape& s) const {
  ConvChoice c;
  c.fp16_columns = fp16_columns();
  c.implicit_forward = implicit_gemm(s, true);
  c.implicit_input = implicit_gemm(s, false);
  // The texel GEMM needs gk and the plane to be multiples of 4; where they
  // are not (conv1 of fashion_cnn: gk = 9) the implicit GEMM beats the
  // portable GEMM by far.
  const uint64_t gk = uint64_t(s.in_channels / std::max(s.groups, 1u)) * s.taps();
  c.implicit_over_gemm = c.implicit_forward && (gk % 4 || s.out_plane() % 4);
  return c;
}

bool KernelPolicy::im2col_texel(const Conv2dShape& s, const View& x, const View& cols) const {
  return !fp16_columns() && s.out_plane() % 4 == 0 && cols.offset % 16 == 0 && texel_views({x}, 4);
}

bool KernelPolicy::tune(double flops) const { return flops >= kTuneMinFlops; }

ReduceChoice KernelPolicy::reduce(uint32_t lanes) const {
  ReduceChoice r;
  r.subgroup = !portable() && (info_.subgroup_ops & kReduceOps) == kReduceOps;
  r.width = lanes;
  while (r.width > 1 && r.width > info_.subgroup_size) r.width /= 2;
  return r;
}

// As many rows per window as every view's window fits, each window's first
// byte on the view alignment.
std::vector<RowWindow> KernelPolicy::row_windows(uint64_t rows, std::initializer_list<RowView> views,
                                                 const std::string& label, uint64_t scratch_row_bytes) const {
  const uint64_t range = info_.max_storage_range, align = info_.view_alignment;
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

}  // namespace fovea::ops
