// The sharpness probe on a small model against an exact CPU oracle: the
// model's loss and gradient in double from the reference ops (conv2d,
// BatchNorm in evaluation mode, tanh, max pooling, dropout as the identity,
// dense, relu, softmax cross-entropy), the Hessian built column by
// column as central differences of that double gradient and
// eigen-decomposed by Jacobi, and the input-output Jacobian by backward
// passes of unit vectors. The GPU probe's gradient, Hessian-vector
// products, Lanczos and power eigenvalues, Hutchinson trace and Jacobian
// estimates are checked against it. relu and max pooling run with the
// patterns of the base weights frozen (Layer::has_pattern), which is what
// makes the finite differences agree with the exact Hessian here.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "data/split.h"
#include "gpu/harness.h"
#include "nn/model.h"
#include "probe/sharpness.h"
#include "reference/activation.h"
#include "reference/conv2d.h"
#include "reference/decode.h"
#include "reference/dense.h"
#include "reference/loss.h"
#include "reference/norm.h"
#include "reference/pool.h"

using namespace fovea;

namespace {

// Input 2 x 5 x 4 (odd sizes), 146 parameters.
const char* kSpec = R"({"input": [2, 5, 4], "classes": 3, "layers": [
  {"type": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1},
  {"type": "batchnorm2d"},
  {"type": "tanh"},
  {"type": "maxpool2d", "kernel": 2},
  {"type": "flatten"},
  {"type": "dropout", "p": 0.5},
  {"type": "dense", "units": 5},
  {"type": "relu"},
  {"type": "dense", "units": 3}]})";

constexpr uint32_t kImages = 11, kC = 2, kH = 5, kW = 4, kClasses = 3;

// The model of kSpec in double for all kImages images as one batch.
struct CpuModel {
  const nn::Model* model = nullptr;
  ref::Tensor x;  // standardised input [N, 2, 5, 4]
  std::vector<uint32_t> labels;
  ref::Tensor running_mean, running_var;

  ref::Tensor tensor(const ref::Tensor& theta, const std::string& name) const {
    for (const nn::ParamTensor& t : model->tensors())
      if (t.name == name) return ref::Tensor(theta.begin() + int64_t(t.offset), theta.begin() + int64_t(t.offset + t.count));
    FAIL("no tensor " << name);
    return {};
  }
  void put(ref::Tensor& g, const std::string& name, const ref::Tensor& v) const {
    for (const nn::ParamTensor& t : model->tensors())
      if (t.name == name) std::copy(v.begin(), v.end(), g.begin() + int64_t(t.offset));
  }
  ops::Conv2dShape conv() const {
    ops::Conv2dShape s;
    s.batch = kImages, s.in_channels = kC, s.height = kH, s.width = kW, s.out_channels = 3;
    s.kh = s.kw = 3, s.ph = s.pw = 1;
    return s;
  }
  ref::NormSpec bn() const { return {ref::NormKind::Batch, kImages, 3, kH, kW, 1, kImages}; }
  ref::Pool2dShape pool() const { return {kImages, 3, kH, kW, 2, 2, 2, 2, 0, 0, 1, 1}; }

  struct Pass {
    ref::Tensor grad, dx;  // parameters (model layout), input
    double loss = 0;
  };
  // Forward, then backward of `dlogits` (empty: the mean loss's).
  Pass run(const ref::Tensor& theta, ref::Tensor dlogits = {}) const {
    const ops::ActivationParams ap;
    const ref::Tensor y1 = ref::conv2d_forward(conv(), x, tensor(theta, "0.weight"), tensor(theta, "0.bias"));
    const ref::Tensor gamma = tensor(theta, "1.weight"), beta = tensor(theta, "1.bias");
    const ref::Tensor y2 = ref::batchnorm_forward_eval(bn(), y1, gamma, beta, running_mean, running_var);
    const ref::Tensor y3 = ref::activation_forward(ops::Activation::Tanh, ap, y2);
    const ref::MaxPool2d y4 = ref::maxpool2d_forward(pool(), y3);
    const ref::Tensor w6 = tensor(theta, "6.weight"), w8 = tensor(theta, "8.weight");
    const ref::Tensor y6 = ref::dense_forward(kImages, 12, 5, y4.y, w6, tensor(theta, "6.bias"));
    const ref::Tensor y7 = ref::activation_forward(ops::Activation::Relu, ap, y6);
    const ref::Tensor z = ref::dense_forward(kImages, 5, kClasses, y7, w8, tensor(theta, "8.bias"));
    Pass p;
    const ref::SoftmaxXent l = ref::softmax_xent(kImages, kClasses, kImages, z, labels);
    for (double v : l.loss) p.loss += v / kImages;
    if (dlogits.empty()) dlogits = l.dlogits;
    p.grad.assign(theta.size(), 0.0);
    put(p.grad, "8.weight", ref::dense_backward_weight(kImages, 5, kClasses, y7, dlogits));
    put(p.grad, "8.bias", ref::dense_backward_bias(kImages, kClasses, dlogits));
    const ref::Tensor d7 = ref::dense_backward_input(kImages, 5, kClasses, dlogits, w8);
    const ref::Tensor d6 = ref::activation_backward(ops::Activation::Relu, ap, y6, y7, d7);
    put(p.grad, "6.weight", ref::dense_backward_weight(kImages, 12, 5, y4.y, d6));
    put(p.grad, "6.bias", ref::dense_backward_bias(kImages, 5, d6));
    const ref::Tensor d4 = ref::dense_backward_input(kImages, 12, 5, d6, w6);
    const ref::Tensor d3 = ref::maxpool2d_backward(pool(), y4.argmax, d4);
    const ref::Tensor d2 = ref::activation_backward(ops::Activation::Tanh, ap, y2, y3, d3);
    const ref::NormGrads bg = ref::batchnorm_backward_eval(bn(), y1, d2, gamma, running_mean, running_var);
    put(p.grad, "1.weight", bg.dgamma);
    put(p.grad, "1.bias", bg.dbeta);
    const ref::Conv2dGrads cg = ref::conv2d_backward(conv(), x, tensor(theta, "0.weight"), bg.dx);
    put(p.grad, "0.weight", cg.dw);
    put(p.grad, "0.bias", cg.db);
    p.dx = cg.dx;
    return p;
  }
  // The exact Hessian (n x n, row-major) by central differences of the
  // double gradient: step 1e-5 leaves O(1e-10) truncation and O(1e-11)
  // rounding error, far below the float32 probe's.
  std::vector<double> hessian(const ref::Tensor& theta) const {
    const size_t n = theta.size();
    std::vector<double> H(n * n, 0.0);
    const double h = 1e-5;
    ref::Tensor t = theta;
    for (size_t j = 0; j < n; ++j) {
      t[j] = theta[j] + h;
      const ref::Tensor up = run(t).grad;
      t[j] = theta[j] - h;
      const ref::Tensor down = run(t).grad;
      t[j] = theta[j];
      for (size_t i = 0; i < n; ++i) H[i * n + j] = (up[i] - down[i]) / (2 * h);
    }
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < i; ++j) H[i * n + j] = H[j * n + i] = (H[i * n + j] + H[j * n + i]) / 2;
    return H;
  }
};

double rel_error(const train::Vec& got, const train::Vec& want) {
  double d = 0, w = 0;
  for (size_t i = 0; i < got.size(); ++i) d += (got[i] - want[i]) * (got[i] - want[i]), w += want[i] * want[i];
  return std::sqrt(d / w);
}

struct Fixture {
  nn::ModelSpec spec = nn::parse_model_spec_text(kSpec, "probe.json");
  nn::ModelOptions opts;
  std::unique_ptr<nn::Model> model;
  data::ImageSet set;
  CpuModel cpu;
  ref::Tensor theta;

  Fixture() {
    opts.batch = 4;  // 11 images: batches of 4, 4 and 3 (a partial one)
    opts.slots = 1;
    opts.channel_mean = {0.3, 0.6};
    opts.channel_std = {0.4, 0.2};
    opts.probe = true;
    model = std::make_unique<nn::Model>(test::context(), spec, opts);
    cpu.model = model.get();
    model->init_parameters(7);
    // BatchNorm's running statistics away from (0, 1), its affine part away from (1, 0).
    std::vector<float> params = model->download_parameters();
    for (const nn::ParamTensor& t : model->tensors())
      if (t.name.rfind("1.", 0) == 0) {
        const auto r = test::random_floats(t.count, t.offset, 0.5f, 1.5f);
        std::copy(r.begin(), r.end(), params.begin() + int64_t(t.offset));
      }
    model->upload_parameters(params);
    theta = ref::widen(params);
    const auto rm = test::random_floats(3, 11, -0.3f, 0.3f), rv = test::random_floats(3, 12, 0.5f, 2.0f);
    std::vector<float> state = rm;
    state.insert(state.end(), rv.begin(), rv.end());
    model->upload_state(state);
    cpu.running_mean = ref::widen(rm), cpu.running_var = ref::widen(rv);
    set.count = kImages, set.channels = kC, set.height = kH, set.width = kW, set.classes = kClasses;
    data::Rng rng(99);
    set.pixels.resize(size_t(kImages) * kC * kH * kW);
    for (auto& p : set.pixels) p = uint8_t(rng.below(256));
    for (uint32_t i = 0; i < kImages; ++i) set.labels.push_back(uint8_t(rng.below(kClasses)));
    cpu.labels.assign(set.labels.begin(), set.labels.end());
    cpu.x = ref::decode({kImages, kC, kH, kW}, kImages, set.pixels, {0.3, 0.6}, {0.4, 0.2});
  }
  std::vector<uint32_t> all() const {
    std::vector<uint32_t> v(kImages);
    for (uint32_t i = 0; i < kImages; ++i) v[i] = i;
    return v;
  }
};

}  // namespace

TEST_CASE("sharpness probe: gradient and Hessian-vector products match the double reference", "[sharpness]") {
  Fixture f;
  train::HessianProbe probe(*f.model, f.set, f.all(), nn::StepParams{});
  const CpuModel::Pass want = f.cpu.run(f.theta);
  const train::Vec g = probe.gradient();
  CHECK(std::fabs(probe.loss() - want.loss) <= 1e-5 * want.loss);
  test::check_close(std::vector<float>(g.begin(), g.end()), want.grad, 1e-6, 1e-4, "probe gradient");
  CHECK(rel_error(g, want.grad) < 1e-5);

  const std::vector<double> H = f.cpu.hessian(f.theta);
  const size_t n = f.theta.size();
  for (uint64_t seed : {1, 2, 3}) {
    // A random direction, and one along the parameters of a single layer.
    train::Vec v = train::rademacher(n, seed), hv, want_hv(n, 0.0);
    for (size_t i = 0; i < n; ++i) v[i] *= 0.5 + 0.01 * double(i % 7);
    probe.hvp(v, hv);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j) want_hv[i] += H[i * n + j] * v[j];
    const double err = rel_error(hv, want_hv);
    // Measured 5e-5 to 9e-5 (float32 gradients differenced over a step of
    // 1e-3 |theta|): 1e-3 leaves a 10x margin.
    INFO("direction " << seed << ": relative error of Hv " << err);
    CHECK(err < 1e-3);
  }
  // The parameters are restored after each product.
  CHECK(f.model->download_parameters() == std::vector<float>(f.theta.begin(), f.theta.end()));
}

TEST_CASE("sharpness probe: Lanczos, power iteration and Hutchinson against the exact Hessian", "[sharpness]") {
  Fixture f;
  const size_t n = f.theta.size();
  const std::vector<double> exact = train::symmetric_eigenvalues(f.cpu.hessian(f.theta), n);
  double trace = 0;
  const std::vector<double> H = f.cpu.hessian(f.theta);
  for (size_t i = 0; i < n; ++i) trace += H[i * n + i];
  train::HessianProbe probe(*f.model, f.set, f.all(), nn::StepParams{});
  train::SpectrumOptions o;
  o.top = 3;
  o.tolerance = 1e-4;
  o.max_iterations = 40;
  const train::SpectrumResult l = train::lanczos(n, probe.as_operator(), o);
  REQUIRE(l.values.size() == 3);
  INFO("exact top 3: " << exact[0] << " " << exact[1] << " " << exact[2] << "; Lanczos " << l.values[0] << " "
                       << l.values[1] << " " << l.values[2] << " after " << l.iterations << " steps");
  CHECK(exact[0] > 1e-2);           // a top eigenvalue to find,
  CHECK(exact[0] - exact[1] > 1e-3);  // separated from the next
  // 1e-3 of lambda_max: the products' own error (~1e-4 relative, above)
  // bounds what Lanczos can resolve; measured 3e-6.
  for (size_t k = 0; k < 3; ++k) CHECK(std::fabs(l.values[k] - exact[k]) <= 1e-3 * std::fabs(exact[0]));
  CHECK(l.converged);

  o.top = 1;
  o.max_iterations = 200;
  o.tolerance = 1e-6;
  const train::SpectrumResult pw = train::power_iteration(n, probe.as_operator(), o);
  INFO("power iteration " << pw.values[0] << " after " << pw.iterations);
  CHECK(std::fabs(pw.values[0] - exact[0]) <= 1e-3 * exact[0]);

  const train::TraceEstimate t = train::hutchinson_trace(n, probe.as_operator(), 40, 5);
  INFO("trace " << trace << ", Hutchinson " << t.mean << " +- " << t.standard_error);
  CHECK(t.standard_error > 0);
  CHECK(std::fabs(t.mean - trace) <= 4.5 * t.standard_error + 1e-3 * std::fabs(trace));
}

TEST_CASE("sharpness probe: Jacobian probes are J^T u of the double reference", "[sharpness]") {
  Fixture f;
  train::HessianProbe probe(*f.model, f.set, f.all(), nn::StepParams{});
  const uint32_t probes = 3;
  const uint64_t seed = 17;
  const std::vector<double> got = probe.jacobian_sq_norms(probes, seed);
  // The documented probes: image i, probe k draws rademacher(classes, seed + i * probes + k).
  std::vector<double> want(kImages, 0.0), exact(kImages, 0.0);
  for (uint32_t k = 0; k < probes; ++k) {
    ref::Tensor u(size_t(kImages) * kClasses);
    for (uint32_t i = 0; i < kImages; ++i) {
      const train::Vec z = train::rademacher(kClasses, seed + uint64_t(i) * probes + k);
      std::copy(z.begin(), z.end(), u.begin() + i * kClasses);
    }
    const ref::Tensor dx = f.cpu.run(f.theta, u).dx;
    const size_t D = dx.size() / kImages;
    for (uint32_t i = 0; i < kImages; ++i)
      for (size_t j = 0; j < D; ++j) want[i] += dx[i * D + j] * dx[i * D + j] / probes;
  }
  test::check_close(std::vector<float>(got.begin(), got.end()), want, 1e-6, 1e-4, "mean ||J^T u||^2 per image");
  // And the estimate is of ||J||_F^2 (the sum over unit vectors e_c).
  for (uint32_t c = 0; c < kClasses; ++c) {
    ref::Tensor e(size_t(kImages) * kClasses, 0.0);
    for (uint32_t i = 0; i < kImages; ++i) e[i * kClasses + c] = 1;
    const ref::Tensor dx = f.cpu.run(f.theta, e).dx;
    const size_t D = dx.size() / kImages;
    for (uint32_t i = 0; i < kImages; ++i)
      for (size_t j = 0; j < D; ++j) exact[i] += dx[i * D + j] * dx[i * D + j];
  }
  const std::vector<double> many = probe.jacobian_sq_norms(400, 3);
  double m = 0, e = 0;
  for (uint32_t i = 0; i < kImages; ++i) m += many[i] / kImages, e += exact[i] / kImages;
  INFO("mean ||J||_F^2 exact " << e << ", 400 probes " << m);
  CHECK(std::fabs(m - e) <= 0.05 * e);
}
