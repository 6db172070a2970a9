// Steps recorded into the caller's command buffer (Trainer::record_step) and
// sliced into parts (record_first_part / record_next_part): any mix with
// step() ends with the weights of the same sequence of step() calls bit for
// bit, under the validation layer with synchronisation validation; tickets
// are finished in order and once; a measured step changes nothing.
#include <fovea/fovea.hpp>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <unistd.h>

#include "gpu/harness.h"
#include "io/safetensors.h"
#include "util/error.h"

using namespace fovea;
namespace fs = std::filesystem;

namespace {

// Input [2, 9, 11], 5 classes, dropout so the step's random draws count too.
const char* kSpec = R"({"input": [2, 9, 11], "classes": 5, "layers": [
  {"type": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1},
  {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel": 2},
  {"type": "flatten"}, {"type": "dropout", "p": 0.25}, {"type": "dense", "units": 5}]})";
constexpr uint64_t kImageBytes = 2 * 9 * 11;
constexpr uint32_t kBatch = 23;

// The same without BatchNorm, whose micro-batch statistics would differ
// from the whole batch's.
const char* kSpecNoNorm = R"({"input": [2, 9, 11], "classes": 5, "layers": [
  {"type": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1},
  {"type": "relu"}, {"type": "maxpool2d", "kernel": 2},
  {"type": "flatten"}, {"type": "dropout", "p": 0.25}, {"type": "dense", "units": 5}]})";

api::Trainer make_trainer(const api::Device& d, uint32_t batch = kBatch, uint32_t accumulate = 1,
                          const char* spec = kSpec) {
  api::TrainerOptions o;
  o.spec_json = spec;
  o.batch = batch;
  o.accumulate = accumulate;
  o.optimizer = "adam";
  o.lr = 0.01;
  o.seed = 5;
  auto t = api::Trainer::create(d, o);
  if (!t) FAIL(t.error().message);
  return std::move(t).value();
}

api::Device adopted() {
  gpu::Context& c = test::context();
  auto d = api::Device::adopt(c.instance(), c.physical(), c.device(), c.queue_family());
  REQUIRE(d.ok());
  return d.value();
}

// The caller's side: batches in a host-visible TRANSFER_SRC buffer, and
// command buffers it records, submits and waits for itself.
struct Caller {
  gpu::Context& ctx = test::context();
  gpu::Arena mem{ctx, gpu::MemoryKind::Upload, "caller"};
  gpu::View images, labels;
  std::vector<uint8_t> host_images;
  std::vector<uint32_t> host_labels;
  VkCommandPool pool = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;

  explicit Caller(uint32_t n) {
    std::mt19937 rng(17);
    host_images.resize(n * kImageBytes);
    for (auto& p : host_images) p = uint8_t(rng() % 256);
    for (uint32_t i = 0; i < n; ++i) host_labels.push_back(rng() % 5);
    images = mem.reserve("images", host_images.size());
    labels = mem.reserve("labels", n * 4);
    mem.commit();
    std::memcpy(images.host(), host_images.data(), host_images.size());
    std::memcpy(labels.host(), host_labels.data(), n * 4);
    VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pci.queueFamilyIndex = ctx.queue_family();
    gpu::check(vkCreateCommandPool(ctx.device(), &pci, nullptr, &pool), "vkCreateCommandPool");
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    gpu::check(vkCreateFence(ctx.device(), &fci, nullptr, &fence), "vkCreateFence");
  }
  ~Caller() {
    vkDestroyFence(ctx.device(), fence, nullptr);
    vkDestroyCommandPool(ctx.device(), pool, nullptr);
  }
  VkCommandBuffer begin() {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer cmd;
    gpu::check(vkAllocateCommandBuffers(ctx.device(), &ai, &cmd), "vkAllocateCommandBuffers");
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    gpu::check(vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
    return cmd;
  }
  // Ends, submits and waits for `cmd`, then frees it.
  void run(VkCommandBuffer cmd) {
    gpu::check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    gpu::check(vkQueueSubmit(ctx.queue(), 1, &si, fence), "vkQueueSubmit");
    gpu::check(vkWaitForFences(ctx.device(), 1, &fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
    gpu::check(vkResetFences(ctx.device(), 1, &fence), "vkResetFences");
    vkFreeCommandBuffers(ctx.device(), pool, 1, &cmd);
  }
  std::span<const uint8_t> host_batch(uint32_t first, uint32_t rows) const {
    return std::span(host_images).subspan(first * kImageBytes, rows * kImageBytes);
  }
  std::span<const uint32_t> host_batch_labels(uint32_t first, uint32_t rows) const {
    return std::span(host_labels).subspan(first, rows);
  }
  VkDeviceSize image_offset(uint32_t first) const { return images.offset + first * kImageBytes; }
  VkDeviceSize label_offset(uint32_t first) const { return labels.offset + first * 4; }
};

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("fovea-record-" + std::to_string(::getpid()) + "-" + name);
}

std::string saved(api::Trainer& t, const std::string& name) {
  const fs::path p = temp_path(name);
  REQUIRE(t.save(p.string()).ok());
  std::ifstream f(p, std::ios::binary);
  std::string bytes{std::istreambuf_iterator<char>(f), {}};
  fs::remove(p);
  return bytes;
}

// Every weight of the trainer, tensor after tensor.
std::vector<float> weights(api::Trainer& t) {
  const fs::path p = temp_path("weights");
  REQUIRE(t.save(p.string()).ok());
  std::vector<float> all;
  for (const io::Tensor& x : io::read_safetensors(p.string()).tensors) all.insert(all.end(), x.data.begin(), x.data.end());
  fs::remove(p);
  return all;
}

template <class R>
void check_error(const R& r, const std::string& part) {
  REQUIRE_FALSE(r.ok());
  INFO("message: " << r.error().message);
  CHECK(r.error().code == api::ErrorCode::InvalidArgument);
  CHECK(r.error().message.find(part) != std::string::npos);
}

}  // namespace

TEST_CASE("record_step: a mix of step, recorded steps and sliced parts equals step() bit for bit", "[api]") {
  api::Device d = adopted();
  api::Trainer plain = make_trainer(d), mixed = make_trainer(d);
  // 7 batches, the last one partial: 6 x 23 + 11 rows.
  const uint32_t n = 6 * kBatch + 11;
  Caller c(n);
  auto rows_of = [&](uint32_t b) { return std::min(kBatch, n - b * kBatch); };
  std::vector<double> want;
  for (uint32_t b = 0; b < 7; ++b) {
    auto m = plain.step(c.host_batch(b * kBatch, rows_of(b)), c.host_batch_labels(b * kBatch, rows_of(b)));
    REQUIRE(m.ok());
    want.push_back(m.value().loss);
  }
  std::vector<double> got;
  auto host_step = [&](uint32_t b) {
    auto m = mixed.step(c.host_batch(b * kBatch, rows_of(b)), c.host_batch_labels(b * kBatch, rows_of(b)));
    REQUIRE(m.ok());
    got.push_back(m.value().loss);
  };
  host_step(0);
  // Steps 1 and 2 recorded into two command buffers, both in flight at once
  // (one submission holding both), then finished in order.
  VkCommandBuffer cmd = c.begin();
  std::vector<api::StepTicket> tickets;
  for (uint32_t b = 1; b <= 2; ++b) {
    auto k = mixed.record_step(cmd, c.images.buffer(), c.image_offset(b * kBatch), c.labels.buffer(),
                               c.label_offset(b * kBatch), rows_of(b));
    REQUIRE(k.ok());
    CHECK(k.value().step() == b);
    CHECK(k.value().recorded());
    tickets.push_back(k.value());
  }
  CHECK(mixed.steps() == 3);
  c.run(cmd);
  for (const auto& k : tickets) {
    auto m = mixed.finish_step(k);
    REQUIRE(m.ok());
    CHECK(m.value().images == kBatch);
    got.push_back(m.value().loss);
  }
  host_step(3);
  // Step 4 in parts of about a dispatch each, one submission per part (a
  // frame each); measure_step ran in between and must have changed nothing.
  auto plan = mixed.set_part_budget(1e-6);
  REQUIRE(plan.ok());
  REQUIRE(plan.value().dispatches.size() > 5);
  auto sliced_step = [&](uint32_t b, size_t parts) {
    VkCommandBuffer first = c.begin();
    auto k = mixed.record_first_part(first, c.images.buffer(), c.image_offset(b * kBatch), c.labels.buffer(),
                                     c.label_offset(b * kBatch), rows_of(b));
    REQUIRE(k.ok());
    api::StepTicket ticket = k.value();
    CHECK(ticket.parts() == parts);
    c.run(first);
    if (parts > 1) check_error(mixed.finish_step(ticket), "not recorded yet");
    while (!ticket.recorded()) {
      VkCommandBuffer part = c.begin();
      REQUIRE(mixed.record_next_part(part, ticket).ok());
      c.run(part);
    }
    auto m = mixed.finish_step(ticket);
    REQUIRE(m.ok());
    got.push_back(m.value().loss);
  };
  sliced_step(4, plan.value().dispatches.size());
  // Step 5 as one part: a budget over the whole step.
  auto whole = mixed.set_part_budget(1e9);
  REQUIRE(whole.ok());
  CHECK(whole.value().dispatches.size() == 1);
  sliced_step(5, 1);
  host_step(6);
  CHECK(got == want);
  CHECK(mixed.steps() == plain.steps());
  const std::string a = saved(plain, "plain"), b = saved(mixed, "mixed");
  CHECK(a.size() > 400);
  CHECK(a == b);
  CHECK(test::validation_messages() == 0);
}

TEST_CASE("record_step: tickets are finished in order and once; in-flight steps block the rest", "[api]") {
  api::Device d = adopted();
  api::Trainer t = make_trainer(d), other = make_trainer(d);
  Caller c(2 * kBatch);
  auto record = [&](VkCommandBuffer cmd, uint32_t first, uint32_t rows) {
    return t.record_step(cmd, c.images.buffer(), c.image_offset(first), c.labels.buffer(), c.label_offset(first),
                         rows);
  };
  VkCommandBuffer cmd = c.begin();
  check_error(t.record_step(VK_NULL_HANDLE, c.images.buffer(), 0, c.labels.buffer(), 0, 3), "null VkCommandBuffer");
  check_error(record(cmd, 0, 0), "rows must be in 1..23");
  check_error(record(cmd, 0, kBatch + 1), "rows must be in 1..23");
  auto first = record(cmd, 0, kBatch);
  auto second = record(cmd, kBatch, kBatch);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(second.value().step() == 1);
  // Two in flight is the most; every call that needs the GPU idle waits.
  check_error(record(cmd, 0, kBatch), "2 recorded steps are in flight");
  check_error(t.step(c.host_batch(0, 3), c.host_batch_labels(0, 3)), "in flight");
  check_error(t.evaluate(c.host_batch(0, 3), c.host_batch_labels(0, 3)), "in flight");
  check_error(t.measure_step(), "in flight");
  check_error(t.set_part_budget(1), "in flight");
  c.run(cmd);
  check_error(t.finish_step(second.value()), "out of order; finish step 0 first");
  check_error(other.finish_step(first.value()), "not one of this Trainer's");
  check_error(t.finish_step(api::StepTicket{}), "not one of this Trainer's");
  auto m = t.finish_step(first.value());
  REQUIRE(m.ok());
  CHECK(m.value().images == kBatch);
  CHECK(m.value().loss > 0);
  check_error(t.finish_step(first.value()), "already finished");
  api::StepTicket copy = second.value();
  VkCommandBuffer none = c.begin();
  check_error(t.record_next_part(none, copy), "no part left");
  c.run(none);
  REQUIRE(t.finish_step(second.value()).ok());
  check_error(t.finish_step(second.value()), "already finished");
  // Nothing in flight: the host step runs again, counted after the two.
  REQUIRE(t.step(c.host_batch(0, 3), c.host_batch_labels(0, 3)).ok());
  CHECK(t.steps() == 3);
  check_error(t.set_part_budget(-1), "budget must be 0 or a positive number");
  check_error(t.measure_step(0), "repeats must be in 1..100");
  CHECK(test::validation_messages() == 0);
}

TEST_CASE("record_step: measured times cover every dispatch; parts keep to the budget", "[api]") {
  api::Device d = adopted();
  api::Trainer t = make_trainer(d);
  auto times = t.measure_step(2);
  if (!test::context().info().timestamps) {
    // The one device without timestamps: the error must say so.
    check_error(times, "no timestamps");
    return;
  }
  REQUIRE(times.ok());
  const api::StepTimes& s = times.value();
  REQUIRE(s.dispatches.size() > 5);
  REQUIRE(s.ms.size() == s.dispatches.size());
  CHECK(s.total_ms > 0);
  CHECK(t.steps() == 0);
  // A budget of half the longest dispatch: that one is a part of its own,
  // every other part fits.
  const double longest = *std::max_element(s.ms.begin(), s.ms.end());
  auto plan = t.set_part_budget(longest / 2);
  REQUIRE(plan.ok());
  const api::PartPlan& p = plan.value();
  uint32_t dispatches = 0;
  size_t next = 0;
  for (size_t k = 0; k < p.dispatches.size(); ++k) {
    CHECK(p.dispatches[k] >= 1);
    double sum = 0;
    for (uint32_t i = 0; i < p.dispatches[k]; ++i) sum += s.ms[next + i];
    next += p.dispatches[k];
    CHECK(std::abs(sum - p.expected_ms[k]) <= 1e-9 * std::max(1.0, sum));
    if (p.dispatches[k] > 1) CHECK(sum <= longest / 2);
    dispatches += p.dispatches[k];
  }
  CHECK(dispatches == s.dispatches.size());
  CHECK(p.dispatches.size() >= 2);
  auto off = t.set_part_budget(0);
  REQUIRE(off.ok());
  CHECK(off.value().dispatches.size() == 1);
}

TEST_CASE("record_step: accumulated micro-batches equal one batch; recorded and sliced equal step()", "[api]") {
  api::Device d = adopted();
  // A step of up to 24 rows: one batch of 24, or 3 micro-batches of 8.
  api::Trainer big = make_trainer(d, 24, 1, kSpecNoNorm), acc = make_trainer(d, 8, 3, kSpecNoNorm),
               mixed = make_trainer(d, 8, 3, kSpecNoNorm), small = make_trainer(d, 8, 1, kSpecNoNorm);
  CHECK(acc.accumulate() == 3);
  const uint32_t n = 4 * 24 - 5;  // four steps, the last of 19 rows (micro-batches 8, 8, 3)
  Caller c(n);
  check_error(acc.step(c.host_batch(0, 25), c.host_batch_labels(0, 25)), "(batch x accumulate)");
  std::vector<double> want, got;
  for (uint32_t first = 0; first < n; first += 24) {
    const uint32_t rows = std::min(24u, n - first);
    auto a = big.step(c.host_batch(first, rows), c.host_batch_labels(first, rows));
    auto b = acc.step(c.host_batch(first, rows), c.host_batch_labels(first, rows));
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(b.value().images == rows);
    CHECK(std::abs(a.value().loss - b.value().loss) <= 1e-5 * a.value().loss);
    REQUIRE(small.step(c.host_batch(first, std::min(8u, rows)), c.host_batch_labels(first, std::min(8u, rows))).ok());
    want.push_back(b.value().loss);
  }
  // Up to float summation order: 1e-5 of the largest weight.
  const std::vector<float> wb = weights(big), wa = weights(acc), ws = weights(small);
  REQUIRE(wa.size() == wb.size());
  float top = 0, diff = 0, moved = 0;
  for (size_t i = 0; i < wb.size(); ++i) {
    top = std::max(top, std::abs(wb[i]));
    diff = std::max(diff, std::abs(wa[i] - wb[i]));
    moved = std::max(moved, std::abs(ws[i] - wb[i]));
  }
  CHECK(diff <= 1e-5f * top);
  CHECK(moved > 1e-3f * top);  // a batch of 8 alone ends elsewhere: the comparison can fail
  // The same steps on `mixed`: host, recorded, sliced (parts as small as a
  // dispatch, across the micro-batches and the update), host.
  auto host = [&](uint32_t first, uint32_t rows) {
    auto m = mixed.step(c.host_batch(first, rows), c.host_batch_labels(first, rows));
    REQUIRE(m.ok());
    got.push_back(m.value().loss);
  };
  host(0, 24);
  VkCommandBuffer cmd = c.begin();
  auto k = mixed.record_step(cmd, c.images.buffer(), c.image_offset(24), c.labels.buffer(), c.label_offset(24), 24);
  REQUIRE(k.ok());
  c.run(cmd);
  got.push_back(mixed.finish_step(k.value()).value().loss);
  auto plan = mixed.set_part_budget(1e-6);
  REQUIRE(plan.ok());
  VkCommandBuffer first = c.begin();
  auto s = mixed.record_first_part(first, c.images.buffer(), c.image_offset(48), c.labels.buffer(),
                                   c.label_offset(48), 24);
  REQUIRE(s.ok());
  api::StepTicket ticket = s.value();
  c.run(first);
  while (!ticket.recorded()) {
    VkCommandBuffer part = c.begin();
    REQUIRE(mixed.record_next_part(part, ticket).ok());
    c.run(part);
  }
  got.push_back(mixed.finish_step(ticket).value().loss);
  host(72, n - 72);
  CHECK(got == want);
  CHECK(saved(mixed, "mixed-acc") == saved(acc, "acc"));
  CHECK(test::validation_messages() == 0);
}
