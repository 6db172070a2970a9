// The kernel policy: every kernel variant an op records (texel or storage
// buffer reads, fp16 columns, cooperative matrices, split-K, register
// blocks, subgroup reductions, row windows) is a value chosen here, from the
// device model (gpu::DeviceInfo) and the resolved options
// (gpu::KernelOptions: fast, portable, limits, tune). Ops ask; they do not
// decide inline. One function per op family; `fovea train --print-plan`
// prints the choice of each family the model uses, with the reason.
//
// Pure functions of (device model, options, shape, view placement): tests
// build policies for made-up devices (tests/cpu/kernel_policy_test.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gpu/context.h"
#include "ops/common.h"

namespace fovea::ops {

struct GemmShape;
struct Conv2dShape;

// The GEMM behind dense, conv2d and conv_transpose2d (ops/dense.h).
struct GemmChoice {
  const char* kernel = "dense/gemm";  // the shader
  // Register block per lane (spec constants): rm x rn outputs, of `rows` x
  // `cols` values each (texel kernels read vec4s: rows or cols 4).
  uint32_t rm = 4, rn = 4, rows = 1, cols = 1;
  bool texel = false;        // A and B through rgba32f texel buffers
  bool coop_matrix = false;  // 32x32 tiles of 4 subgroups (dense/gemm_coopmat*)
  uint32_t k_chunk = 0;      // reduction values per workgroup (split-K)
};

// conv2d's variants for one shape (ops/conv2d.h).
struct ConvChoice {
  bool fp16_columns = false;      // im2col columns stored as fp16
  bool implicit_forward = false;  // y may be gathered straight from x
  bool implicit_input = false;    // dx gathered straight from dy: no dcols, no col2im
  // With an im2col workspace, the forward pass still takes the implicit
  // GEMM where the texel GEMM cannot run (gk or the plane not multiples of 4).
  bool implicit_over_gemm = false;
};

// Reductions that sweep memory by subgroups (norm/reduce, weight_norm).
struct ReduceChoice {
  bool subgroup = false;  // add lanes with subgroup arithmetic (norm/reduce_subgroup)
  uint32_t width = 1;     // lanes that sweep contiguous memory together
};

class KernelPolicy {
 public:
  KernelPolicy(const gpu::DeviceInfo& info, const gpu::KernelOptions& opts);
  // The context's device model and options (cheap: ops call it per record).
  // Inline: the CPU tests link this file without the Context.
  static KernelPolicy of(const gpu::Context& ctx) { return KernelPolicy(ctx.info(), ctx.kernel_options()); }

  const gpu::DeviceInfo& info() const { return info_; }
  const gpu::KernelOptions& options() const { return opts_; }
  bool portable() const;  // portable kernels only (FOVEA_FAST=0, vulkan11-min)

  // dense: the kernel and split for C = A · B with A, B in views a, b.
  GemmChoice gemm(const GemmShape& g, const View& a, const View& b) const;
  bool coop_matrix(const GemmShape& g) const;  // the cooperative-matrix GEMM for this product
  uint32_t gemm_k_chunk(const GemmShape& g) const;
  // conv2d: per shape; implicit(...) also checks where the views start.
  ConvChoice conv2d(const Conv2dShape& s) const;
  bool implicit_gemm(const Conv2dShape& s, bool forward) const;
  bool implicit_views(const View& in, const View& w) const;
  // im2col's x through an r32f texel buffer (4 positions per lane).
  bool im2col_texel(const Conv2dShape& s, const View& x, const View& cols) const;
  bool tune(double flops) const;  // worth timing the implicit GEMM's tiles
  // The fp16 paths: wanted (options) and enabled (device).
  bool fp16_columns() const;
  bool coop_matrix_enabled() const;
  // norm/reduce and weight_norm, for workgroups of `lanes`.
  ReduceChoice reduce(uint32_t lanes = 64) const;
  // pool: every view readable through a texel buffer of `texel_bytes` texels.
  bool texel_views(std::initializer_list<View> views, uint32_t texel_bytes = 4) const;
  // Row windows (ops/common.h): the largest binding, maxStorageBufferRange.
  std::vector<RowWindow> row_windows(uint64_t rows, std::initializer_list<RowView> views,
                                     const std::string& label, uint64_t scratch_row_bytes) const;

  // One line per op family in `families` that has variants, with the reason
  // ("dense: texel-buffer GEMM where ... because ..."), after a line naming
  // the device and options. Families: the shader folder ("dense", "conv2d").
  std::string plan_text(const std::vector<std::string>& families) const;
  std::string explain(std::string_view family) const;  // "" for a family without variants

 private:
  gpu::DeviceInfo info_;
  gpu::KernelOptions opts_;
};

// The shader folders of every dispatch of `programs`, in order of first use.
std::vector<std::string> kernel_families(const std::vector<const Program*>& programs);

}  // namespace fovea::ops
