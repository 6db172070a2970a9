// The kernel policy in words: one line per op family for --print-plan.
#include <algorithm>
#include <sstream>

#include "ops/conv2d.h"
#include "ops/dense.h"
#include "ops/kernel_policy.h"

namespace fovea::ops {

namespace {

bool cpu_device(const gpu::DeviceInfo& d) { return d.type == VK_PHYSICAL_DEVICE_TYPE_CPU; }

std::string forced_portable(const gpu::KernelOptions& o, const gpu::DeviceInfo& d) {
  if (d.vulkan11_min) return "portable kernels: FOVEA_LIMITS=vulkan11-min";
  return o.fast == "0" ? "portable kernels: FOVEA_FAST=0" : "portable kernels forced";
}

// Why the fp16 paths are off (or on) on this device with these options.
std::string half_reason(const KernelPolicy& k) {
  const auto& o = k.options();
  if (k.portable()) return forced_portable(o, k.info());
  if (!o.half_precision) {
    if (o.fast == "0" || o.fast == "fp32") return "FOVEA_FAST=" + o.fast;
    return cpu_device(k.info()) ? "a CPU implementation (FOVEA_FAST=fp16 turns them on)" : "turned off";
  }
  return o.fast == "fp16" ? "FOVEA_FAST=fp16" : "a GPU";
}

std::string coop_reason(const KernelPolicy& k) {
  const auto& o = k.options();
  const auto& d = k.info();
  if (k.portable() || !o.half_precision) return "fp16 paths off: " + half_reason(k);
  if (!o.coop_matrix) return "no fp16 16x16x16 VK_NV_cooperative_matrix";
  if (d.subgroup_size != 32) return "subgroup size " + std::to_string(d.subgroup_size) + ", not 32";
  return "fewer than 128 invocations or no basic subgroup operations";
}

std::string dense_line(const KernelPolicy& k) {
  std::ostringstream s;
  if (k.portable()) {
    s << "dense: portable GEMM (dense/gemm, 4x4 outputs per lane, storage buffers): " << forced_portable(k.options(), k.info());
  } else {
    s << "dense: texel-buffer GEMM (dense/gemm_nt, gemm_nn, gemm_tn) where dimensions and strides are multiples of 4 "
      << "and operands fit " << k.info().max_texel_elements << " texels, else dense/gemm";
    if (k.coop_matrix_enabled())
      s << "; cooperative-matrix GEMM (fp16 operands) for products of at least 2^24 FLOPs";
    else
      s << "; no cooperative-matrix GEMM (" << coop_reason(k) << ")";
  }
  s << "; split-K: at most " << kSplitK << " values per workgroup (lavapipe's loop budget)";
  if (!k.portable() && k.options().occupancy_split_k)
    s << ", shorter chunks (at least " << kMinSplitChunk << ") to fill " << kFillGroups << " workgroups (a GPU)";
  else if (!k.portable())
    s << ", no split for occupancy (" << (cpu_device(k.info()) ? "a CPU implementation" : "turned off") << ")";
  return s.str();
}

std::string conv_line(const KernelPolicy& k) {
  std::ostringstream s;
  s << "conv2d: im2col columns in " << (k.fp16_columns() ? "fp16" : "fp32") << " (";
  if (k.fp16_columns()) s << half_reason(k);
  else if (k.portable() || !k.options().half_precision) s << "fp16 paths off: " << half_reason(k);
  else s << "no 16-bit storage buffers";
  s << ") + GEMM; ";
  const auto& d = k.info();
  const bool shuffles = d.subgroup_ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
  if (!k.portable() && d.subgroup_size >= 8 && shuffles) {
    s << "implicit GEMM (subgroup size " << d.subgroup_size << " with shuffles) for the input gradient, and for the "
      << "forward pass where the GEMM needs multiples of 4, while operands fit " << d.max_texel_elements
      << " texels; tile variants " << (k.options().tune ? "tuned per shape" : "not tuned (FOVEA_TUNE=0)");
  } else {
    s << "input gradient by GEMM + col2im (";
    if (k.portable()) s << forced_portable(k.options(), d);
    else if (d.subgroup_size < 8) s << "subgroup size " << d.subgroup_size << " < 8";
    else s << "no subgroup shuffles";
    s << ")";
  }
  return s.str();
}

std::string reduce_line(const KernelPolicy& k, const char* family) {
  const ReduceChoice r = k.reduce();
  std::ostringstream s;
  s << family << ": lanes sweep " << r.width << " values at a time (subgroup size " << k.info().subgroup_size << ")";
  if (std::string_view(family) != "norm") return s.str();
  if (r.subgroup) s << "; subgroup-arithmetic reductions (norm/reduce_subgroup)";
  else s << "; shared-memory reductions (norm/reduce): "
         << (k.portable() ? forced_portable(k.options(), k.info()) : "no subgroup arithmetic");
  return s.str();
}

}  // namespace

std::string KernelPolicy::explain(std::string_view family) const {
  if (family == "dense") return dense_line(*this);
  if (family == "conv2d") return conv_line(*this);
  if (family == "norm" || family == "weight_norm") return reduce_line(*this, family == "norm" ? "norm" : "weight_norm");
  if (family == "pool") {
    if (portable()) return "pool: storage-buffer reads (" + forced_portable(opts_, info_) + ")";
    return "pool: max pooling reads through texel buffers (*_texel) where views fit " +
           std::to_string(info_.max_texel_elements) + " texels";
  }
  return "";
}

std::string KernelPolicy::plan_text(const std::vector<std::string>& families) const {
  std::ostringstream s;
  s << "kernel policy (" << info_.name << (cpu_device(info_) ? ", a CPU implementation" : "") << "; "
    << (portable() ? forced_portable(opts_, info_) : "fast kernels where the device allows")
    << "; fp16 paths " << (opts_.half_precision && !portable() ? "on" : "off") << "):\n";
  s << "  row windows: bindings up to " << info_.max_storage_range
    << " bytes (maxStorageBufferRange); ops over larger tensors run once per window of rows\n";
  for (const std::string& f : families)
    if (const std::string line = explain(f); !line.empty()) s << "  " << line << "\n";
  return s.str();
}

std::vector<std::string> kernel_families(const std::vector<const Program*>& programs) {
  std::vector<std::string> families;
  for (const Program* p : programs) {
    if (!p) continue;
    for (const auto& d : p->dispatches()) {
      const std::string& name = d.kernel->name;
      std::string family = name.substr(0, name.find('/'));
      if (std::find(families.begin(), families.end(), family) == families.end()) families.push_back(family);
    }
  }
  return families;
}

}  // namespace fovea::ops
