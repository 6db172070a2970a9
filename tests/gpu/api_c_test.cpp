// The C binding (include/fovea/fovea.h): status codes, messages per handle,
// the same numbers as the C++ API it wraps, and a step recorded into a
// command buffer with its ticket.
#include <fovea/fovea.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstring>
#include <fovea/fovea.hpp>
#include <random>
#include <string>

#include "gpu/harness.h"

using namespace fovea;

TEST_CASE("c api: status codes, per-handle messages, the C++ API's numbers", "[api]") {
  gpu::Context& c = test::context();
  char error[256] = "untouched";
  fovea_device* device = nullptr;
  CHECK(fovea_device_adopt(c.instance(), c.physical(), c.device(), 77, 0, &device, error, sizeof error) == 1);
  CHECK(device == nullptr);
  CHECK(std::string(error).find("queue family 77") != std::string::npos);
  REQUIRE(fovea_device_adopt(c.instance(), c.physical(), c.device(), c.queue_family(), 0, &device, error,
                             sizeof error) == 0);

  const char* spec = R"({"input": [1, 5, 7], "classes": 3, "layers": [{"type": "flatten"},
    {"type": "dense", "units": 6}, {"type": "tanh"}, {"type": "dense", "units": 3}]})";
  fovea_trainer* t = nullptr;
  char tiny[12];
  CHECK(fovea_trainer_create(device, "/nonexistent/spec.json", nullptr, 8, "sgd", 0.1, 5, nullptr, nullptr, 0, &t,
                             tiny, sizeof tiny) == 1);
  CHECK(std::string(tiny).size() == sizeof tiny - 1);  // truncated, terminated
  CHECK(t == nullptr);
  const double mean = 0.5, std = 0.25;
  REQUIRE(fovea_trainer_create(device, nullptr, spec, 8, "sgd", 0.1, 5, &mean, &std, 1, &t, error, sizeof error) == 0);
  fovea_device_destroy(device);  // the trainer keeps the device alive
  REQUIRE(fovea_trainer_image_bytes(t) == 35);
  REQUIRE(fovea_trainer_classes(t) == 3);

  std::mt19937 rng(4);
  std::vector<uint8_t> images(11 * 35);
  for (auto& p : images) p = uint8_t(1 + rng() % 255);
  std::vector<uint32_t> labels(11);
  for (auto& l : labels) l = rng() % 3;
  fovea_metrics m{};
  CHECK(fovea_trainer_step(t, images.data(), labels.data(), 11, &m) == 1);  // more than the batch of 8
  CHECK(std::string(fovea_trainer_last_error(t)).find("batch of 8") != std::string::npos);
  REQUIRE(fovea_trainer_step(t, images.data(), labels.data(), 8, &m) == 0);
  CHECK(std::string(fovea_trainer_last_error(t)).empty());
  CHECK(m.images == 8);
  CHECK(fovea_trainer_save(t, "/nonexistent/dir/w.safetensors") == 2);

  // The C++ API on the same spec, seed and batch gives the same numbers.
  auto d = api::Device::adopt(c.instance(), c.physical(), c.device(), c.queue_family());
  api::TrainerOptions o;
  o.spec_json = spec;
  o.batch = 8;
  o.lr = 0.1;
  o.seed = 5;
  o.mean = {mean};
  o.std = {std};
  auto cpp = api::Trainer::create(d.value(), o);
  REQUIRE(cpp.ok());
  auto cm = cpp.value().step(std::span(images).first(8 * 35), std::span(labels).first(8));
  REQUIRE(cm.ok());
  CHECK(cm.value().loss == m.loss);
  std::vector<float> logits(11 * 3);
  REQUIRE(fovea_trainer_predict(t, images.data(), 11, logits.data()) == 0);
  CHECK(logits == cpp.value().predict(images).value());
  fovea_metrics e{};
  REQUIRE(fovea_trainer_evaluate(t, images.data(), labels.data(), 11, &e) == 0);
  CHECK(e.images == 11);
  CHECK(e.loss == cpp.value().evaluate(images, labels).value().loss);
  fovea_trainer_destroy(t);

  // With options: accumulation, as the C++ API's; a struct too small is refused.
  fovea_trainer_options opts;
  fovea_trainer_options_init(&opts);
  CHECK(opts.size == sizeof opts);
  CHECK(opts.accumulate == 1);
  opts.spec_json = spec;
  opts.batch = 4;
  opts.accumulate = 3;
  opts.lr = 0.1;
  opts.seed = 5;
  opts.mean = &mean;
  opts.std = &std;
  opts.channels = 1;
  fovea_device* device2 = nullptr;
  REQUIRE(fovea_device_adopt(c.instance(), c.physical(), c.device(), c.queue_family(), 0, &device2, error,
                             sizeof error) == 0);
  fovea_trainer_options small = opts;
  small.size = offsetof(fovea_trainer_options, channels);
  CHECK(fovea_trainer_create_with_options(device2, &small, &t, error, sizeof error) == 1);
  CHECK(std::string(error).find("options->size") != std::string::npos);
  REQUIRE(fovea_trainer_create_with_options(device2, &opts, &t, error, sizeof error) == 0);
  fovea_device_destroy(device2);
  CHECK(fovea_trainer_step(t, images.data(), labels.data(), 11, &m) == 0);  // 3 micro-batches: 4 + 4 + 3
  CHECK(m.images == 11);
  o.batch = 4;
  o.accumulate = 3;
  auto acc = api::Trainer::create(d.value(), o);
  REQUIRE(acc.ok());
  auto am = acc.value().step(images, labels);
  REQUIRE(am.ok());
  CHECK(am.value().loss == m.loss);
  CHECK(logits != acc.value().predict(images).value());  // it trained other weights than the batch of 8
  REQUIRE(fovea_trainer_predict(t, images.data(), 11, logits.data()) == 0);
  CHECK(logits == acc.value().predict(images).value());
  fovea_trainer_destroy(t);
}

TEST_CASE("c api: a recorded step and its ticket, as the C++ API's", "[api]") {
  gpu::Context& c = test::context();
  fovea_device* device = nullptr;
  char error[256];
  REQUIRE(fovea_device_adopt(c.instance(), c.physical(), c.device(), c.queue_family(), 0, &device, error,
                             sizeof error) == 0);
  const char* spec = R"({"input": [1, 5, 7], "classes": 3, "layers": [{"type": "flatten"},
    {"type": "dense", "units": 3}]})";
  fovea_trainer *t = nullptr, *host = nullptr;
  REQUIRE(fovea_trainer_create(device, nullptr, spec, 6, "adam", 0.01, 2, nullptr, nullptr, 0, &t, error,
                               sizeof error) == 0);
  REQUIRE(fovea_trainer_create(device, nullptr, spec, 6, "adam", 0.01, 2, nullptr, nullptr, 0, &host, error,
                               sizeof error) == 0);
  fovea_device_destroy(device);
  std::mt19937 rng(9);
  std::vector<uint8_t> images(6 * 35);
  for (auto& p : images) p = uint8_t(rng() % 256);
  std::vector<uint32_t> labels(6);
  for (auto& l : labels) l = rng() % 3;
  gpu::Arena mem(c, gpu::MemoryKind::Upload, "caller");
  gpu::View vi = mem.reserve("images", images.size()), vl = mem.reserve("labels", 24);
  mem.commit();
  std::memcpy(vi.host(), images.data(), images.size());
  std::memcpy(vl.host(), labels.data(), 24);

  fovea_step_ticket ticket{};
  CHECK(fovea_trainer_record_step(t, VK_NULL_HANDLE, vi.buffer(), vi.offset, vl.buffer(), vl.offset, 6, &ticket) == 1);
  CHECK(std::string(fovea_trainer_last_error(t)).find("null VkCommandBuffer") != std::string::npos);
  c.run_once([&](VkCommandBuffer cmd) {
    REQUIRE(fovea_trainer_record_step(t, cmd, vi.buffer(), vi.offset, vl.buffer(), vl.offset, 6, &ticket) == 0);
  });
  CHECK(ticket.step == 0);
  CHECK(ticket.parts == 1);
  CHECK(ticket.parts_recorded == 1);
  fovea_metrics m{}, want{};
  REQUIRE(fovea_trainer_finish_step(t, &ticket, &m) == 0);
  CHECK(fovea_trainer_finish_step(t, &ticket, &m) == 1);  // finished already
  CHECK(std::string(fovea_trainer_last_error(t)).find("step 0 is not in flight") != std::string::npos);
  CHECK(fovea_trainer_finish_step(t, nullptr, &m) == 1);
  REQUIRE(fovea_trainer_step(host, images.data(), labels.data(), 6, &want) == 0);
  CHECK(m.images == 6);
  CHECK(m.loss == want.loss);
  uint32_t parts = 0;
  CHECK(fovea_trainer_set_part_budget(t, -1, &parts) == 1);
  REQUIRE(fovea_trainer_set_part_budget(t, 0, &parts) == 0);
  CHECK(parts == 1);
  fovea_trainer_destroy(t);
  fovea_trainer_destroy(host);
}
