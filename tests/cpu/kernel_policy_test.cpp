// ops::KernelPolicy on made-up device models: the variant each op family
// gets from the device facts and the options, with no Vulkan device.
#include <catch2/catch.hpp>
#include <algorithm>
#include <regex>
#include <string>

#include "ops/conv2d.h"
#include "ops/dense.h"
#include "ops/kernel_policy.h"

namespace {

using fovea::gpu::DeviceInfo;
using fovea::gpu::KernelOptions;
using fovea::gpu::View;
using fovea::ops::KernelPolicy;

constexpr VkSubgroupFeatureFlags kAllOps = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT |
                                           VK_SUBGROUP_FEATURE_SHUFFLE_BIT;

// lavapipe at 256 bits as docs/devices.md reports it.
DeviceInfo lavapipe() {
  DeviceInfo d;
  d.name = "llvmpipe (made up)";
  d.type = VK_PHYSICAL_DEVICE_TYPE_CPU;
  d.subgroup_size = 8;
  d.subgroup_ops = kAllOps;
  d.max_invocations = 1024;
  d.max_storage_range = 128u << 20;
  d.max_texel_elements = 134217728;
  d.max_group_count_x = 65535;
  d.view_alignment = 16;
  d.storage_16bit = true;
  return d;
}

// A discrete GPU with subgroups of `subgroup` lanes.
DeviceInfo gpu(uint32_t subgroup) {
  DeviceInfo d = lavapipe();
  d.name = "made-up GPU";
  d.type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  d.subgroup_size = subgroup;
  d.max_storage_range = 0xffffffffu;
  d.view_alignment = 64;
  return d;
}

// What Context resolves by default: fp16 and occupancy split on GPUs only.
KernelOptions defaults(const DeviceInfo& d, bool coop = false) {
  KernelOptions o;
  o.half_precision = o.occupancy_split_k = d.type != VK_PHYSICAL_DEVICE_TYPE_CPU;
  o.fp16_storage = d.storage_16bit;
  o.coop_matrix = coop;
  return o;
}

// A view of `bytes` at `offset` (its arena is never touched: valid() only
// asks for one).
View view(uint64_t bytes, uint64_t offset = 0) {
  static char arena_stand_in;
  View v;
  v.arena = reinterpret_cast<fovea::gpu::Arena*>(&arena_stand_in);
  v.offset = offset;
  v.size = bytes;
  return v;
}

// dense forward: y [batch, out] = x [batch, in] · W^T, as record_dense_forward builds it.
fovea::ops::GemmShape dense(uint32_t batch, uint32_t in, uint32_t out) {
  return {batch, out, in, in, 1, 1, in, out};
}

}  // namespace

TEST_CASE("kernel policy: dense takes the texel GEMM only where shapes and the texel limit allow", "[policy]") {
  DeviceInfo d = lavapipe();
  const KernelPolicy lp(d, defaults(d));
  auto g = dense(37, 784, 128);
  auto c = lp.gemm(g, view(37 * 784 * 4), view(128 * 784 * 4));
  CHECK(std::string(c.kernel) == "dense/gemm_nt");
  CHECK(c.texel);
  CHECK_FALSE(c.coop_matrix);
  // K = 785: not a multiple of 4, so the portable kernel.
  g = dense(37, 785, 128);
  c = lp.gemm(g, view(37 * 785 * 4), view(128 * 785 * 4));
  CHECK(std::string(c.kernel) == "dense/gemm");
  CHECK_FALSE(c.texel);
  // An operand past maxTexelBufferElements (in vec4 texels).
  d.max_texel_elements = 1000;
  g = dense(37, 784, 128);
  c = KernelPolicy(d, defaults(d)).gemm(g, view(37 * 784 * 4), view(128 * 784 * 4));
  CHECK(std::string(c.kernel) == "dense/gemm");
  // A view off the device's view alignment.
  c = lp.gemm(g, view(37 * 784 * 4, 8), view(128 * 784 * 4));
  CHECK_FALSE(c.texel);
  // The input gradient's B is not transposed: gemm_nn, 4 x 2 vec4 blocks.
  const fovea::ops::GemmShape nn{37, 784, 128, 128, 1, 784, 1, 784};
  c = lp.gemm(nn, view(37 * 128 * 4), view(128 * 784 * 4));
  CHECK(std::string(c.kernel) == "dense/gemm_nn");
  CHECK((c.rm == 4 && c.rn == 2 && c.cols == 4));
  // Portable kernels (FOVEA_FAST=0): the portable GEMM whatever the shape.
  KernelOptions portable = defaults(lavapipe());
  portable.portable = true;
  CHECK(std::string(KernelPolicy(lavapipe(), portable).gemm(g, view(37 * 784 * 4), view(128 * 784 * 4)).kernel) ==
        "dense/gemm");
}

TEST_CASE("kernel policy: split-K for occupancy on GPUs, never on CPU implementations", "[policy]") {
  // fashion_cnn's 3136 -> 128 dense layer at batch 128: 16 output tiles.
  const auto g = dense(128, 3136, 128);
  const DeviceInfo cpu = lavapipe(), nv = gpu(32);
  CHECK(KernelPolicy(cpu, defaults(cpu)).gemm_k_chunk(g) == fovea::ops::kSplitK);
  const uint32_t chunk = KernelPolicy(nv, defaults(nv)).gemm_k_chunk(g);
  CHECK(chunk == fovea::ops::kMinSplitChunk);  // 3136 / 16 tiles rounds up to 256
  CHECK(KernelPolicy(nv, defaults(nv)).gemm(g, view(128 * 3136 * 4), view(128 * 3136 * 4)).k_chunk == chunk);
  // Enough tiles already: no split.
  CHECK(KernelPolicy(nv, defaults(nv)).gemm_k_chunk(dense(2048, 3136, 1024)) == fovea::ops::kSplitK);
  KernelOptions off = defaults(nv);
  off.portable = true;
  CHECK(KernelPolicy(nv, off).gemm_k_chunk(g) == fovea::ops::kSplitK);
}

TEST_CASE("kernel policy: fp16 columns and cooperative matrices follow the device and the options", "[policy]") {
  const auto big = dense(256, 1024, 1024);  // 2^29 FLOPs
  DeviceInfo nv = gpu(32);
  const KernelPolicy p32(nv, defaults(nv, true));
  CHECK(p32.fp16_columns());
  CHECK(p32.coop_matrix(big));
  CHECK(std::string(p32.gemm(big, view(256 * 1024 * 4), view(1024 * 1024 * 4)).kernel) == "dense/gemm_coopmat");
  CHECK_FALSE(p32.coop_matrix(dense(16, 16, 16)));  // too small to pay
  auto b16 = big;
  b16.b_f16 = true;
  CHECK(std::string(p32.gemm(b16, view(256 * 1024 * 4), view(1024 * 1024 * 2)).kernel) == "dense/gemm_coopmat_b16");
  // Subgroups of 64 (the coopmat kernel assumes 32): fp16 columns stay, no coopmat.
  const DeviceInfo amd = gpu(64);
  const KernelPolicy p64(amd, defaults(amd, true));
  CHECK(p64.fp16_columns());
  CHECK_FALSE(p64.coop_matrix(big));
  CHECK(std::string(p64.gemm(b16, view(256 * 1024 * 4), view(1024 * 1024 * 2)).kernel) == "dense/gemm_b16");
  // No 16-bit storage: no fp16 columns (coopmat with fp32 B still runs).
  nv.storage_16bit = false;
  const KernelPolicy no16(nv, defaults(nv, true));
  CHECK_FALSE(no16.fp16_columns());
  CHECK(no16.coop_matrix(big));
  CHECK_FALSE(no16.coop_matrix(b16));
  // FOVEA_FAST=fp32: neither; a CPU implementation: neither by default.
  KernelOptions fp32 = defaults(gpu(32), true);
  fp32.half_precision = false;
  CHECK_FALSE(KernelPolicy(gpu(32), fp32).fp16_columns());
  CHECK_FALSE(KernelPolicy(gpu(32), fp32).coop_matrix(big));
  CHECK_FALSE(KernelPolicy(lavapipe(), defaults(lavapipe())).fp16_columns());
}

TEST_CASE("kernel policy: conv2d's implicit GEMM needs subgroups of 8 with shuffles", "[policy]") {
  fovea::ops::Conv2dShape s;  // fashion_cnn's conv1: 1 -> 32 channels, 3x3, padding 1, on 28x28
  s.batch = 12, s.in_channels = 1, s.height = s.width = 28, s.out_channels = 32;
  s.kh = s.kw = 3, s.ph = s.pw = 1;
  DeviceInfo d = lavapipe();
  auto c = KernelPolicy(d, defaults(d)).conv2d(s);
  CHECK(c.implicit_input);
  CHECK(c.implicit_forward);
  CHECK(c.implicit_over_gemm);  // gk = 9: the texel GEMM cannot read it
  CHECK_FALSE(c.fp16_columns);
  s.in_channels = 4;  // gk = 36, plane 784: the GEMM keeps the forward pass
  CHECK_FALSE(KernelPolicy(d, defaults(d)).conv2d(s).implicit_over_gemm);
  d.subgroup_size = 4;  // lavapipe at 128 bits: GEMM + col2im
  CHECK_FALSE(KernelPolicy(d, defaults(d)).conv2d(s).implicit_input);
  d = lavapipe();
  d.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  CHECK_FALSE(KernelPolicy(d, defaults(d)).conv2d(s).implicit_input);
  d = lavapipe();
  d.max_texel_elements = 1000;  // dy past the texel limit
  CHECK_FALSE(KernelPolicy(d, defaults(d)).conv2d(s).implicit_input);
  KernelOptions portable = defaults(lavapipe());
  portable.portable = true;
  CHECK_FALSE(KernelPolicy(lavapipe(), portable).conv2d(s).implicit_input);
  const DeviceInfo nv = gpu(32);
  CHECK(KernelPolicy(nv, defaults(nv)).conv2d(s).fp16_columns);
}

TEST_CASE("kernel policy: reductions sweep by the subgroup size", "[policy]") {
  DeviceInfo d = lavapipe();
  CHECK(KernelPolicy(d, defaults(d)).reduce(64).width == 8);
  CHECK(KernelPolicy(d, defaults(d)).reduce(64).subgroup);
  CHECK(KernelPolicy(gpu(32), defaults(gpu(32))).reduce(64).width == 32);
  CHECK(KernelPolicy(gpu(64), defaults(gpu(64))).reduce(64).width == 64);
  CHECK(KernelPolicy(gpu(64), defaults(gpu(64))).reduce(32).width == 32);
  d.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT;  // no arithmetic
  CHECK_FALSE(KernelPolicy(d, defaults(d)).reduce(64).subgroup);
  KernelOptions portable = defaults(lavapipe());
  portable.portable = true;
  CHECK_FALSE(KernelPolicy(lavapipe(), portable).reduce(64).subgroup);
}

TEST_CASE("kernel policy: row windows follow maxStorageBufferRange", "[policy]") {
  DeviceInfo d = lavapipe();
  d.max_storage_range = 1000;  // bytes
  const KernelPolicy p(d, defaults(d));
  // 37 rows of 100 bytes: 9 rows per window (9 x 100 <= 1000, first row x 100
  // on the 16-byte alignment: multiples of 4 rows), so 8 rows per window.
  const View x = view(3700);
  const auto ws = p.row_windows(37, {{x, 100}}, "test", 0);
  REQUIRE(ws.size() == 5);
  for (size_t k = 0; k < ws.size(); ++k) {
    CHECK(ws[k].first == 8 * k);
    CHECK(ws[k].first * 100 % 16 == 0);
  }
  CHECK(ws.back().rows == 5);
  // Everything fits: one window.
  d.max_storage_range = 128u << 20;
  CHECK(KernelPolicy(d, defaults(d)).row_windows(37, {{x, 100}}, "test", 0).size() == 1);
  // A single row over the range: an error naming the op.
  d.max_storage_range = 64;
  CHECK_THROWS_WITH(KernelPolicy(d, defaults(d)).row_windows(37, {{x, 100}}, "layers.1.dense", 0),
                    Catch::Contains("layers.1.dense") && Catch::Contains("storage-buffer range of 64"));
}

TEST_CASE("kernel policy: the plan names each family's choice and why", "[policy]") {
  const DeviceInfo d = lavapipe();
  const std::string plan = KernelPolicy(d, defaults(d)).plan_text({"decode", "dense", "conv2d", "norm", "loss"});
  CHECK_THAT(plan, Catch::Contains("dense: texel-buffer GEMM"));
  CHECK_THAT(plan, Catch::Contains("no split for occupancy (a CPU implementation)"));
  CHECK_THAT(plan, Catch::Contains("conv2d: im2col columns in fp32 (fp16 paths off: a CPU implementation"));
  CHECK_THAT(plan, Catch::Contains("implicit GEMM (subgroup size 8 with shuffles)"));
  CHECK_THAT(plan, Catch::Contains("norm: lanes sweep 8 values"));
  CHECK_THAT(plan, Catch::Contains("bindings up to 134217728 bytes"));
  CHECK_THAT(plan, !Catch::Contains("pool:"));  // not asked for
  // One line per family with variants, plus the header and the row windows.
  CHECK(std::count(plan.begin(), plan.end(), '\n') == 5);
  // tests/cli/split_test.sh counts windowed views as "[a:b]" in the plan.
  CHECK_FALSE(std::regex_search(plan, std::regex(R"(\[[0-9]+:[0-9]+\])")));
  KernelOptions portable = defaults(d);
  portable.portable = true;
  portable.fast = "0";
  const std::string p = KernelPolicy(d, portable).plan_text({"dense", "pool"});
  CHECK_THAT(p, Catch::Contains("dense: portable GEMM") && Catch::Contains("FOVEA_FAST=0"));
  CHECK_THAT(p, Catch::Contains("pool: storage-buffer reads"));
  const DeviceInfo nv = gpu(32);
  CHECK_THAT(KernelPolicy(nv, defaults(nv, true)).explain("dense"),
             Catch::Contains("cooperative-matrix GEMM (fp16 operands)") && Catch::Contains("to fill 256 workgroups"));
  CHECK_THAT(KernelPolicy(gpu(64), defaults(gpu(64), true)).explain("dense"), Catch::Contains("subgroup size 64, not 32"));
  CHECK(KernelPolicy(d, defaults(d)).explain("activation") == "");
}
