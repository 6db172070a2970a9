#include "gpu/harness.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "cli/environment.h"
#include "data/split.h"

namespace fovea::test {

static std::unique_ptr<gpu::Context>& context_slot() {
  static std::unique_ptr<gpu::Context> ctx;
  return ctx;
}

gpu::Context& context() {
  auto& ctx = context_slot();
  // Every GPU test runs under the validation layer, synchronisation included.
  if (!ctx) {
    // The kernel choices of the run's environment (FOVEA_LIMITS=vulkan11-min
    // for the clamped ctest pass), read here as the command line reads them.
    ctx = gpu::Context::create(cli::context_options(cli::read_environment(), "", true));
    // The tests compare with fp32 tolerances; the fp16 paths (on by default
    // on GPUs) are tested where a test turns them on (ops/half_test.cpp).
    ctx->half_precision = false;
  }
  return *ctx;
}

void release_context() { context_slot().reset(); }

uint64_t validation_messages() {
  auto& ctx = context_slot();
  return ctx ? ctx->validation().count() : 0;
}

OpRun::OpRun() : ctx_(context()), program_(context(), "test") {
  device_ = std::make_unique<gpu::Arena>(ctx_, gpu::MemoryKind::Device, "test.device");
  upload_ = std::make_unique<gpu::Arena>(ctx_, gpu::MemoryKind::Upload, "test.upload");
  params_ = upload_->reserve("step.params", sizeof(nn::StepParams));
  program_.set_params(params_);
}

gpu::View OpRun::tensor(const std::string& name, uint64_t floats) {
  return device_->reserve(name, floats * 4);
}

gpu::View OpRun::host_tensor(const std::string& name, uint64_t bytes) {
  return upload_->reserve(name, bytes);
}

void OpRun::commit() {
  device_->commit();
  upload_->commit();
}

void OpRun::set(const gpu::View& v, const std::vector<float>& values) {
  gpu::upload(ctx_, v, values.data(), values.size() * 4);
}

void OpRun::set_u32(const gpu::View& v, const std::vector<uint32_t>& values) {
  gpu::upload(ctx_, v, values.data(), values.size() * 4);
}

std::vector<float> OpRun::get(const gpu::View& v, uint64_t floats) {
  std::vector<float> out(floats);
  gpu::download(ctx_, v, out.data(), floats * 4);
  return out;
}

void OpRun::run(const nn::StepParams& params) {
  std::memcpy(params_.host(), &params, sizeof params);
  gpu::Replayer r(program_, 1);
  r.submit(r.acquire());
  r.finish();
}

std::vector<float> random_floats(uint64_t n, uint64_t seed, float lo, float hi) {
  data::Rng rng(seed * 0x9e3779b97f4a7c15ull + 12345);
  std::vector<float> v(n);
  for (auto& x : v) {
    do {
      x = lo + (hi - lo) * rng.uniform01();
    } while (x == 0.0f);
  }
  return v;
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, double atol,
                 double rtol, const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    double err = std::fabs(double(got[i]) - want[i]);
    if (!(err <= atol + rtol * std::fabs(want[i]))) {
      std::ostringstream s;
      s << what << ": element " << i << " is " << got[i] << ", reference " << want[i]
        << " (|diff| " << err << " > " << atol << " + " << rtol << "*|ref|)";
      FAIL(s.str());
    }
  }
  SUCCEED(what + ": " + std::to_string(got.size()) + " values match");
}

HostBatch random_host_batch(uint32_t n, uint64_t image_bytes, uint32_t classes, uint32_t seed) {
  std::mt19937 rng(seed);
  HostBatch b;
  b.images.resize(n * image_bytes);
  for (auto& p : b.images) p = uint8_t(1 + rng() % 255);
  for (uint32_t i = 0; i < n; ++i) b.labels.push_back(rng() % classes);
  return b;
}

}  // namespace fovea::test
