// The public API (include/fovea/fovea.hpp): errors come back as values,
// a step from the caller's VkBuffer equals the same step from host memory
// bit for bit, predict agrees with evaluate, and save/load round-trips.
// Trainers adopt the harness's device, so its validation layer watches them.
#include <fovea/fovea.hpp>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <unistd.h>

#include "gpu/harness.h"

using namespace fovea;
namespace fs = std::filesystem;

namespace {

// Input [2, 9, 11] (198 bytes an image), 5 classes: a conv, a pool and a
// dense layer, so the step runs through several kernel families.
const char* kSpec = R"({"input": [2, 9, 11], "classes": 5, "layers": [
  {"type": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1},
  {"type": "relu"}, {"type": "maxpool2d", "kernel": 2},
  {"type": "flatten"}, {"type": "dense", "units": 5}]})";
constexpr uint64_t kImageBytes = 2 * 9 * 11;
constexpr uint32_t kClasses = 5;

using Batch = test::HostBatch;

// n images of seeded random bytes (1..255) and random labels.
Batch random_batch(uint32_t n, uint32_t seed) { return test::random_host_batch(n, kImageBytes, kClasses, seed); }

api::Device adopted() {
  gpu::Context& c = test::context();
  auto d = api::Device::adopt(c.instance(), c.physical(), c.device(), c.queue_family());
  REQUIRE(d.ok());
  return d.value();
}

api::TrainerOptions options(uint64_t seed = 3) {
  api::TrainerOptions o;
  o.spec_json = kSpec;
  o.batch = 37;
  o.optimizer = "adam";
  o.lr = 0.01;
  o.seed = seed;
  o.mean = {0.4, 0.6};
  o.std = {0.3, 0.25};
  return o;
}

api::Trainer make_trainer(const api::Device& d, const api::TrainerOptions& o = options()) {
  auto t = api::Trainer::create(d, o);
  if (!t) FAIL(t.error().message);
  return std::move(t).value();
}

std::string temp_file(const std::string& name) {
  return (fs::temp_directory_path() / ("fovea-api-" + std::to_string(::getpid()) + "-" + name)).string();
}

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// The error of `r`, which must be one, with `code`, its message holding `part`.
template <class R>
void check_error(const R& r, api::ErrorCode code, const std::string& part) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == code);
  INFO("message: " << r.error().message);
  CHECK(r.error().message.find(part) != std::string::npos);
}

}  // namespace

TEST_CASE("api: bad input comes back as an error value naming it", "[api]") {
  api::Device d = adopted();
  auto o = options();
  o.spec_json.clear();
  o.spec_path = "/nonexistent/model.json";
  check_error(api::Trainer::create(d, o), api::ErrorCode::InvalidArgument, "/nonexistent/model.json");
  o = options();
  o.spec_json = R"({"input": [1, 4, 4], "classes": 3, "layers": [{"type": "dense", "units": -2}]})";
  check_error(api::Trainer::create(d, o), api::ErrorCode::InvalidArgument, "units");
  o.spec_json = "{not json";
  check_error(api::Trainer::create(d, o), api::ErrorCode::InvalidArgument, "spec_json");
  o = options();
  o.optimizer = "adamm";
  check_error(api::Trainer::create(d, o), api::ErrorCode::InvalidArgument, "adamm");
  o = options();
  o.mean = {0.5};
  check_error(api::Trainer::create(d, o), api::ErrorCode::InvalidArgument, "one value per input channel (2)");
  o = options();
  o.std = {0.3, 0};
  check_error(api::Trainer::create(d, o), api::ErrorCode::InvalidArgument, "channel 1");
  o = options();
  o.batch = 0;
  check_error(api::Trainer::create(d, o), api::ErrorCode::InvalidArgument, "batch");
  // A bad DeviceOptions::fast is named as the caller named it (fovea names FOVEA_FAST).
  api::DeviceOptions bad_fast;
  bad_fast.fast = "2";
  check_error(api::Device::create(bad_fast), api::ErrorCode::InvalidArgument,
              "DeviceOptions::fast: '2' is not 0 (portable kernels only), 1 (the default), fp16 or fp32");
  check_error(api::Device::adopt(test::context().instance(), test::context().physical(),
                                 test::context().device(), 99),
              api::ErrorCode::InvalidArgument, "queue family 99");

  api::Trainer t = make_trainer(d);
  Batch b = random_batch(5, 1);
  check_error(t.step(std::span(b.images).first(kImageBytes * 5 - 1), b.labels), api::ErrorCode::InvalidArgument,
              "not a whole, non-zero number of 198-byte images");
  check_error(t.step({}, {}), api::ErrorCode::InvalidArgument, "step: 0 bytes");
  check_error(t.step(b.images, std::span(b.labels).first(4)), api::ErrorCode::InvalidArgument, "4 labels for 5 images");
  b.labels[3] = kClasses;
  check_error(t.step(b.images, b.labels), api::ErrorCode::InvalidArgument, "label 5 at index 3");
  check_error(t.evaluate(b.images, b.labels), api::ErrorCode::InvalidArgument, "label 5 at index 3");
  Batch big = random_batch(38, 2);
  check_error(t.step(big.images, big.labels), api::ErrorCode::InvalidArgument, "more than the batch of 37");
  check_error(t.predict({}), api::ErrorCode::InvalidArgument, "predict: 0 bytes");
  check_error(t.step_from_buffer(VK_NULL_HANDLE, 0, VK_NULL_HANDLE, 0, 3), api::ErrorCode::InvalidArgument, "null");
  check_error(t.set_lr(-1), api::ErrorCode::InvalidArgument, "positive");
  check_error(t.load("/nonexistent/w.safetensors"), api::ErrorCode::Io, "/nonexistent/w.safetensors");
  // Weights of another model: the tensor that does not fit is named.
  auto other = options();
  other.spec_json = R"({"input": [2, 9, 11], "classes": 5, "layers": [{"type": "flatten"}, {"type": "dense", "units": 5}]})";
  api::Trainer t2 = make_trainer(d, other);
  const std::string path = temp_file("other.safetensors");
  REQUIRE(t2.save(path).ok());
  check_error(t.load(path), api::ErrorCode::Io, path);
  fs::remove(path);
  CHECK(t.steps() == 0);  // none of the refused steps ran
}

TEST_CASE("api: a step from the caller's VkBuffer equals the host step bit for bit", "[api]") {
  api::Device d = adopted();
  api::Trainer host = make_trainer(d), buffered = make_trainer(d);
  // The caller's buffers: host-visible, TRANSFER_SRC (an upload arena is),
  // holding three batches, the last one partial (37 + 37 + 19 rows).
  const uint32_t n = 93;
  Batch data = random_batch(n, 11);
  gpu::Arena mem(test::context(), gpu::MemoryKind::Upload, "caller");
  gpu::View images = mem.reserve("images", data.images.size() + 5);
  gpu::View labels = mem.reserve("labels", n * 4 + 12);
  mem.commit();
  // Offsets that are not multiples of anything: 5 bytes of images, 3 labels.
  std::memcpy(static_cast<uint8_t*>(images.host()) + 5, data.images.data(), data.images.size());
  std::memcpy(static_cast<uint32_t*>(labels.host()) + 3, data.labels.data(), n * 4);
  for (int epoch = 0; epoch < 2; ++epoch)
    for (uint32_t first = 0; first < n; first += 37) {
      const uint32_t rows = std::min(37u, n - first);
      auto a = host.step(std::span(data.images).subspan(first * kImageBytes, rows * kImageBytes),
                         std::span(data.labels).subspan(first, rows));
      auto b = buffered.step_from_buffer(images.buffer(), images.offset + 5 + first * kImageBytes, labels.buffer(),
                                         labels.offset + 12 + first * 4, rows);
      REQUIRE(a.ok());
      REQUIRE(b.ok());
      CHECK(a.value().images == rows);
      CHECK(a.value().loss == b.value().loss);
      CHECK(a.value().accuracy == b.value().accuracy);
      CHECK(b.value().images == rows);
    }
  CHECK(host.steps() == 6);
  CHECK(buffered.steps() == 6);
  const std::string pa = temp_file("host.safetensors"), pb = temp_file("buffer.safetensors");
  REQUIRE(host.save(pa).ok());
  REQUIRE(buffered.save(pb).ok());
  const std::string wa = file_bytes(pa);
  CHECK(wa.size() > 400);
  CHECK(wa == file_bytes(pb));
  // A trainer that took no step has other weights (the comparison can fail).
  api::Trainer fresh = make_trainer(d);
  const std::string pf = temp_file("fresh.safetensors");
  REQUIRE(fresh.save(pf).ok());
  CHECK(file_bytes(pf) != wa);
  for (const auto& p : {pa, pb, pf}) fs::remove(p);
}

TEST_CASE("api: training lowers the loss, predict agrees with evaluate, save and load round-trip", "[api]") {
  api::Device d = adopted();
  api::Trainer t = make_trainer(d);
  Batch train = random_batch(37, 21);
  const double first = t.evaluate(train.images, train.labels).value().loss;
  for (int i = 0; i < 40; ++i) REQUIRE(t.step(train.images, train.labels).ok());
  const api::Metrics after = t.evaluate(train.images, train.labels).value();
  // 37 random images with random labels: adam memorises them.
  CHECK(after.loss < 0.5 * first);
  CHECK(after.accuracy > 0.6);

  // 101 images: two full eval batches and a partial one.
  Batch test = random_batch(101, 22);
  auto eval = t.evaluate(test.images, test.labels);
  auto logits = t.predict(test.images);
  REQUIRE(eval.ok());
  REQUIRE(logits.ok());
  REQUIRE(logits.value().size() == 101 * kClasses);
  CHECK(eval.value().images == 101);
  // Loss (log-softmax in double) and accuracy (first maximum) from the logits.
  double loss = 0;
  uint64_t right = 0;
  for (uint32_t i = 0; i < 101; ++i) {
    const float* z = logits.value().data() + i * kClasses;
    const double top = *std::max_element(z, z + kClasses);
    double sum = 0;
    for (uint32_t k = 0; k < kClasses; ++k) sum += std::exp(double(z[k]) - top);
    loss += std::log(sum) + top - double(z[test.labels[i]]);
    right += uint32_t(std::max_element(z, z + kClasses) - z) == test.labels[i];
  }
  CHECK(std::abs(loss / 101 - eval.value().loss) < 1e-5 * std::max(1.0, loss / 101));
  CHECK(double(right) / 101 == eval.value().accuracy);

  // A trainer with other initial weights predicts differently until it loads
  // the saved file; then it predicts the same logits bit for bit.
  const std::string path = temp_file("roundtrip.safetensors");
  REQUIRE(t.save(path).ok());
  api::Trainer u = make_trainer(d, options(99));
  CHECK(u.predict(test.images).value() != logits.value());
  REQUIRE(u.load(path).ok());
  CHECK(u.predict(test.images).value() == logits.value());
  fs::remove(path);
}

TEST_CASE("api: a device Fovea creates itself trains without validation messages", "[api]") {
  api::DeviceOptions o;
  o.validate = true;
  auto d = api::Device::create(o);
  REQUIRE(d.ok());
  CHECK(!d.value().name().empty());
  auto bad = api::Device::create({"no-such-device-name"});
  check_error(bad, api::ErrorCode::InvalidArgument, "no-such-device-name");
  api::Trainer t = make_trainer(d.value());
  Batch b = random_batch(20, 5);
  auto m = t.step(b.images, b.labels);
  REQUIRE(m.ok());
  CHECK(m.value().images == 20);
  CHECK(std::isfinite(m.value().loss));
  CHECK(m.value().loss > 0);
  CHECK(d.value().validation_messages() == 0);
}
