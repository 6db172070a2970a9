// split: ops over views larger than the device's storage-buffer range run in
// windows of rows (ops::row_windows, issue 11). Each case runs an op with the
// range lowered so its tensors split, checks that more dispatches were
// recorded than without the limit (the split path was taken), compares every
// output with the double reference, and compares with the unsplit run:
// row-independent outputs bit for bit, sums over rows (weight gradients) to
// float rounding. Batches are not multiples of the windows or of any tile.
#include <catch2/catch.hpp>

#include <cstring>
#include <functional>

#include "gpu/harness.h"
#include "ops/activation.h"
#include "ops/blur.h"
#include "ops/conv2d.h"
#include "ops/decode.h"
#include "ops/dense.h"
#include "ops/dropout.h"
#include "ops/noise.h"
#include "ops/norm.h"
#include "ops/half_mode.h"
#include "ops/op_check.h"
#include "ops/pool.h"
#include "ops/split_check.h"
#include "ops/tensor.h"
#include "ops/kernel_policy.h"
#include "reference/activation.h"
#include "reference/blur.h"
#include "reference/conv2d.h"
#include "reference/decode.h"
#include "reference/dense.h"
#include "reference/dropout.h"
#include "reference/noise.h"
#include "reference/norm.h"
#include "reference/pool.h"
#include "util/error.h"
#include "support/skip.h"

namespace fovea::test {
namespace {

TEST_CASE("split: dense forward and gradients over row windows", "[split]") {
  const uint32_t batch = 150, in = 45, out = 13;
  const auto x = random_floats(uint64_t(batch) * in, 1), w = random_floats(uint64_t(out) * in, 2);
  const auto b = random_floats(out, 3), dy = random_floats(uint64_t(batch) * out, 4);
  const ops::DenseShape s{batch, in, out, true};
  auto record = [&](Program& p, const Views& i, const Views& o) {
    ops::record_dense_forward(p, s, i[0], i[1], i[2], o[0], "dense.forward");
    ops::record_dense_backward_input(p, s, i[3], i[1], o[1], "dense.backward_input");
    ops::record_dense_backward_params(p, s, i[0], i[3], o[2], o[3], "dense.backward_params");
  };
  const std::vector<uint64_t> sizes{uint64_t(batch) * out, uint64_t(batch) * in, uint64_t(out) * in, out};
  const Outputs whole = run_op({x, w, b, dy}, sizes, 0, record);
  const Outputs split = run_op({x, w, b, dy}, sizes, kWindowRows * in * 4, record);
  check_split(split, whole, {true, true, false, false});
  const auto xd = ref::widen(x), wd = ref::widen(w), dyd = ref::widen(dy);
  check_close(split.values[0], ref::dense_forward(batch, in, out, xd, wd, ref::widen(b)), gemm_atol(in), kGemmRtol, "y");
  check_close(split.values[1], ref::dense_backward_input(batch, in, out, dyd, wd), gemm_atol(out), kGemmRtol, "dx");
  check_close(split.values[2], ref::dense_backward_weight(batch, in, out, xd, dyd), gemm_atol(batch), kGemmRtol, "dw");
  check_close(split.values[3], ref::dense_backward_bias(batch, out, dyd), gemm_atol(batch), kGemmRtol, "db");
  // dw against central differences of L(W) = sum(dense_forward(x, W) ⊙ dy)
  // (linear in W, so a large step is exact up to double rounding).
  auto loss = [&](const ref::Tensor& wv) {
    const ref::Tensor y = ref::dense_forward(batch, in, out, xd, wv, ref::widen(b));
    double sum = 0;
    for (size_t k = 0; k < y.size(); ++k) sum += y[k] * dyd[k];
    return sum;
  };
  check_finite_differences(split.values[2], wd, loss, 1e-2, 40, gemm_atol(batch), kGemmRtol, "dw");
}

TEST_CASE("split: conv2d forward and gradients over image windows", "[split]") {
  ops::Conv2dShape s;
  s.batch = 150, s.in_channels = 3, s.height = 8, s.width = 10, s.out_channels = 5;
  s.kh = s.kw = 3, s.ph = s.pw = 1;
  const uint64_t nx = uint64_t(s.batch) * 3 * 8 * 10, ny = s.batch * 5 * s.out_plane(), nw = 5 * 3 * 9;
  const auto x = random_floats(nx, 11), w = random_floats(nw, 12), b = random_floats(5, 13);
  const auto dy = random_floats(ny, 14);
  const uint64_t cols = s.cols_floats();
  auto record = [&](Program& p, const Views& i, const Views& o) {
    ops::record_conv2d_forward(p, s, i[0], i[1], i[2], o[0], o[4], "conv.forward");
    ops::record_conv2d_backward_params(p, s, o[4], i[3], o[2], o[3], "conv.backward_params");
    ops::record_conv2d_backward_input(p, s, i[3], i[1], o[1], o[5], "conv.backward_input");
  };
  const std::vector<uint64_t> sizes{ny, nx, nw, 5, cols, cols};
  const Outputs whole = run_op({x, w, b, dy}, sizes, 0, record);
  // The widest rows are the im2col workspace's.
  const Outputs split = run_op({x, w, b, dy}, sizes, kWindowRows * (cols / s.batch) * 4, record);
  check_split(split, whole, {true, true, false, false});
  const auto want = ref::conv2d_backward(s, ref::widen(x), ref::widen(w), ref::widen(dy));
  const uint64_t taps = 3 * 9, sums = uint64_t(s.batch) * s.out_plane();
  check_close(split.values[0], ref::conv2d_forward(s, ref::widen(x), ref::widen(w), ref::widen(b)),
              gemm_atol(taps), kGemmRtol, "y");
  check_close(split.values[1], want.dx, gemm_atol(5 * 9), kGemmRtol, "dx");
  check_close(split.values[2], want.dw, gemm_atol(sums), kGemmRtol, "dw");
  check_close(split.values[3], want.db, gemm_atol(sums), kGemmRtol, "db");
}

TEST_CASE("split: conv2d with fp16 columns over image windows", "[split][half]") {
  // 27 x 63 = 1,701 column values per image: an odd count of fp16 values,
  // so windows of an odd number of images end in half a word.
  HalfMode half(true);
  if (!context().info().storage_16bit) {
    CHECK_FALSE(ops::KernelPolicy::of(context()).fp16_columns());  // nothing to select on this device
    FOVEA_SKIP_HARDWARE("device " << context().info().name << " has no 16-bit storage buffers: fp16 columns");
  }
  ops::Conv2dShape s;
  s.batch = 149, s.in_channels = 3, s.height = 7, s.width = 9, s.out_channels = 5;
  s.kh = s.kw = 3, s.ph = s.pw = 1;
  REQUIRE(ops::conv2d_fp16_columns(context(), s));
  const uint64_t nx = uint64_t(s.batch) * 3 * 7 * 9, ny = s.batch * 5 * s.out_plane(), nw = 5 * 3 * 9;
  const auto x = random_floats(nx, 31), w = random_floats(nw, 32), b = random_floats(5, 33);
  const auto dy = random_floats(ny, 34);
  auto record = [&](Program& p, const Views& i, const Views& o) {
    ops::record_conv2d_forward(p, s, i[0], i[1], i[2], o[0], o[3], "conv.forward");
    ops::record_conv2d_backward_params(p, s, o[3], i[3], o[1], o[2], "conv.backward_params");
  };
  const uint64_t half_words = ops::conv2d_cols_bytes(context(), s) / 4;
  const std::vector<uint64_t> sizes{ny, nw, 5, half_words};
  const Outputs whole = run_op({x, w, b, dy}, sizes, 0, record);
  // Windows of 64 images (the fp16 columns are the widest rows), the last one 21.
  const Outputs split = run_op({x, w, b, dy}, sizes, 64 * (s.cols_floats() / s.batch) * 2, record);
  check_split(split, whole, {true, false, false, true});
}

TEST_CASE("split: max and average pooling over image windows", "[split]") {
  ops::Pool2dShape s;
  s.batch = 131, s.channels = 6, s.height = 7, s.width = 9, s.kh = s.kw = 2;
  const uint64_t nx = uint64_t(s.batch) * 6 * 7 * 9, ny = uint64_t(s.batch) * 6 * 3 * 4;
  const auto x = distinct_floats(nx, 21), dy = random_floats(ny, 22);
  auto record = [&](Program& p, const Views& i, const Views& o) {
    ops::record_maxpool2d_forward(p, s, i[0], o[0], o[1], "maxpool.forward");
    ops::record_maxpool2d_backward(p, s, o[1], i[1], o[2], "maxpool.backward");
    ops::record_maxpool2d_gather(p, s, i[0], o[1], o[3], "maxpool.gather");
    ops::record_avgpool2d_forward(p, s, true, i[0], o[4], "avgpool.forward");
    ops::record_avgpool2d_backward(p, s, true, i[1], o[5], "avgpool.backward");
  };
  const std::vector<uint64_t> sizes{ny, ny, nx, ny, ny, nx};
  const Outputs whole = run_op({x, dy}, sizes, 0, record);
  const Outputs split = run_op({x, dy}, sizes, kWindowRows * 6 * 7 * 9 * 4, record);
  check_split(split, whole, {true, true, true, true, true, true});
  ref::Pool2dShape rs;
  rs.batch = s.batch, rs.channels = s.channels, rs.height = s.height, rs.width = s.width;
  rs.kh = rs.kw = rs.sh = rs.sw = 2;
  const auto max = ref::maxpool2d_forward(rs, ref::widen(x));
  check_close(split.values[0], max.y, 0, 0, "max y");
  std::vector<uint32_t> argmax(ny);
  std::memcpy(argmax.data(), split.values[1].data(), ny * 4);
  CHECK(argmax == max.argmax);
  check_close(split.values[2], ref::maxpool2d_backward(rs, max.argmax, ref::widen(dy)), 1e-6, 1e-6, "max dx");
  check_close(split.values[3], max.y, 0, 0, "gather y");
  check_close(split.values[4], ref::avgpool2d_forward(rs, true, ref::widen(x)), 1e-6, 1e-6, "avg y");
  check_close(split.values[5], ref::avgpool2d_backward(rs, true, ref::widen(dy)), 1e-6, 1e-6, "avg dx");
}

TEST_CASE("split: activations, add and copy over element windows", "[split]") {
  const uint64_t n = 1001;
  const auto x = random_floats(n, 31), dy = random_floats(n, 32), z = random_floats(n, 33);
  const ops::ActivationParams q{};
  auto record = [&](Program& p, const Views& i, const Views& o) {
    ops::record_activation_forward(p, ops::Activation::Gelu, q, n, i[0], o[0], "gelu.forward");
    ops::record_activation_backward(p, ops::Activation::Gelu, q, n, i[0], gpu::View{}, i[1], o[1], "gelu.backward");
    ops::record_add(p, n, i[0], i[2], o[2], "add");
    ops::record_copy(p, n, i[1], o[3], "copy");
  };
  const std::vector<uint64_t> sizes{n, n, n, n};
  const Outputs whole = run_op({x, dy, z}, sizes, 0, record);
  const Outputs split = run_op({x, dy, z}, sizes, 256, record);
  check_split(split, whole, {true, true, true, true});
  const auto xd = ref::widen(x), dyd = ref::widen(dy);
  check_close(split.values[0], ref::activation_forward(ops::Activation::Gelu, q, xd), 1e-6, 1e-5, "gelu y");
  check_close(split.values[1], ref::activation_backward(ops::Activation::Gelu, q, xd, {}, dyd), 1e-6, 1e-5,
              "gelu dx");
  ref::Tensor sum(n);
  for (uint64_t k = 0; k < n; ++k) sum[k] = double(x[k]) + double(z[k]);
  check_close(split.values[2], sum, 0, 0, "add");
  check_close(split.values[3], dyd, 0, 0, "copy");
}

TEST_CASE("split: dropout masks keep their draws across element windows", "[split]") {
  const uint64_t n = 1001, group = 7;  // dropout2d-like: 7 values per draw
  const auto x = random_floats(n, 41), dy = random_floats(n, 42);
  const ops::DropoutMask m{ops::DropoutKind::Dropout, 0.4f, uint32_t(group), 3, 0};
  auto record = [&](Program& p, const Views& i, const Views& o) {
    ops::record_dropout_forward(p, m, n, i[0], o[0], "drop.forward");
    ops::record_dropout_backward(p, m, n, i[1], o[1], "drop.backward");
  };
  const Outputs whole = run_op({x, dy}, {n, n}, 0, record);
  const Outputs split = run_op({x, dy}, {n, n}, 256, record);
  check_split(split, whole, {true, true});
  // OpRun::run's default step parameters: seed 0, step 0.
  const auto keep = ref::bernoulli_keep(0, m.stream, 0, m.purpose, m.p, (n + group - 1) / group);
  check_close(split.values[0], ref::dropout(ref::widen(x), keep, group, m.p), 1e-6, 1e-6, "y");
  check_close(split.values[1], ref::dropout(ref::widen(dy), keep, group, m.p), 1e-6, 1e-6, "dx");
}

TEST_CASE("split: decode, blur and noise windows keep the batch's row numbers", "[split]") {
  // A partial batch (rows 100 of 150) whose last valid row, last blurred row
  // (replay 0.25: 75) and noise keys fall in later windows of 64 rows.
  const uint32_t batch = 150, h = 6, w = 10, features = h * w;
  std::vector<uint8_t> pixels(uint64_t(batch) * features);
  const auto u = random_floats(pixels.size(), 51, 0.0f, 1.0f);
  for (size_t k = 0; k < pixels.size(); ++k) pixels[k] = uint8_t(u[k] * 255.0f);
  std::vector<float> words(pixels.size() / 4);
  std::memcpy(words.data(), pixels.data(), pixels.size());
  const std::vector<float> stats{0.3f, 1.0f / 0.4f};  // mean, 1/std
  const ops::BatchShape s{batch, 1, h, w};
  const double replay = 0.25;
  auto record = [&](Program& p, const Views& i, const Views& o) {
    ops::record_decode(p, s, i[0], i[1], o[0], "input.decode");
    ops::record_blur(p, s, ops::BlurKind::Image, replay, o[0], o[1], "input.blur");
    ops::record_gaussian_noise(p, s, 9, o[0], i[1], "input.noise");
  };
  nn::StepParams params;
  params.rows = 100;
  params.blur_sigma = 1.3f;
  params.noise_std = 0.2f;
  params.first_image = 17;
  const std::vector<uint64_t> sizes{uint64_t(batch) * features, uint64_t(batch) * features};
  const Outputs whole = run_op({words, stats}, sizes, 0, record, params);
  const Outputs split = run_op({words, stats}, sizes, kWindowRows * features * 4, record, params);
  check_split(split, whole, {true});
  ref::Tensor x = ref::decode({batch, 1, h, w}, params.rows, pixels, {0.3}, {0.4});
  x = ref::gaussian_blur({batch, 1, h, w}, x, params.blur_sigma, true, 75);
  x = ref::gaussian_noise(x, batch, 1, features, params.rows, params.first_image, 9, params.noise_std, {0.4});
  check_close(split.values[0], x, 1e-5, 1e-5, "decoded, blurred, noisy x");
}

TEST_CASE("split: batch norm statistics and gradients over row windows of a partial batch", "[split]") {
  // 150 rows, 100 valid: windows of 64 rows, the last valid row in the second.
  const ops::NormShape s{150, 3, 5, 7};
  const uint64_t n = uint64_t(s.batch) * 3 * 5 * 7;
  // An offset mean (|mean| >> std) exercises the shared shift of the sums.
  const auto x = random_floats(n, 61, 2.0f, 3.0f), dy = random_floats(n, 62);
  auto affine = random_floats(6, 63, 0.5f, 1.5f);
  const std::vector<float> running{0.1f, -0.2f, 0.3f, 1.1f, 0.9f, 1.3f};
  auto record = [&](Program& p, const Views& i, const Views& o) {
    ops::record_batchnorm_forward_train(p, s, ops::kNormEps, 0.1f, i[0], i[2], o[0], o[1], o[4], "bn.forward");
    ops::record_batchnorm_backward(p, s, i[0], i[1], i[2], o[1], o[2], o[3], "bn.backward");
    ops::record_batchnorm_forward_eval(p, s, ops::kNormEps, i[0], i[2], i[3], o[5], "bn.eval");
  };
  nn::StepParams params;
  params.rows = 100;
  // out[4] (running statistics, updated in place) starts as garbage: only
  // its finiteness is not checked here; the norm tests check the update.
  const std::vector<uint64_t> sizes{n, 6, n, 6, 6, n};
  const Outputs whole = run_op({x, dy, affine, running}, sizes, 0, record, params);
  const Outputs split = run_op({x, dy, affine, running}, sizes, kWindowRows * 3 * 5 * 7 * 4, record, params);
  check_split(split, whole, {false, false, false, false, false, true});
  ref::NormSpec r;
  r.batch = s.batch, r.channels = 3, r.height = 5, r.width = 7, r.rows = params.rows;
  const ref::Tensor gamma{affine[0], affine[1], affine[2]}, beta{affine[3], affine[4], affine[5]};
  const auto f = ref::norm_forward(r, ref::widen(x), gamma, beta);
  const auto g = ref::norm_backward(r, ref::widen(x), ref::widen(dy), gamma);
  ref::Tensor saved = f.mean;
  saved.insert(saved.end(), f.invstd.begin(), f.invstd.end());
  check_close(split.values[0], f.y, 1e-5, 1e-4, "y");
  check_close(split.values[1], saved, 1e-5, 1e-4, "saved mean, invstd");
  check_close(split.values[2], g.dx, 1e-5, 1e-4, "dx");
  ref::Tensor daffine = g.dgamma;
  daffine.insert(daffine.end(), g.dbeta.begin(), g.dbeta.end());
  check_close(split.values[3], daffine, gemm_atol(100 * 35), 1e-4, "dgamma, dbeta");
  const auto eval = ref::batchnorm_forward_eval(r, ref::widen(x), gamma, beta, {0.1, -0.2, 0.3}, {1.1, 0.9, 1.3});
  check_close(split.values[5], eval, 1e-5, 1e-5, "evaluation y");
}

TEST_CASE("split: an op that cannot split a binding over the range is refused by name", "[split]") {
  ops::Pool2dShape s;
  s.batch = 9, s.channels = 64, s.height = 4, s.width = 4, s.kh = s.kw = 2;
  StorageRange limit(4096);
  OpRun run;
  const auto x = run.tensor("pool_in", 9 * 64 * 16), y = run.tensor("pool_out", 9 * 64 * 4);
  const auto argmax = run.tensor("argmax", 9 * 64 * 4);
  run.commit();
  try {
    ops::record_maxpool_dropout_forward(run.program(), s, {0.5f, 1}, x, y, argmax, "pool1.forward");
    FAIL("no error");
  } catch (const Error& e) {
    const std::string m = e.what();
    INFO(m);
    CHECK(m.find("pool1.forward") != std::string::npos);
    CHECK(m.find("pool_in") != std::string::npos);
    CHECK(m.find(std::to_string(9 * 64 * 16 * 4)) != std::string::npos);
    CHECK(m.find("storage-buffer range of 4096 bytes") != std::string::npos);
  }
}

}  // namespace
}  // namespace fovea::test
