// The C binding (include/fovea/fovea.h): thin wrappers over the C++ API.
// Each trainer handle keeps its own last error; nothing is global, and no
// exception leaves a function (the C++ API catches its own; the few
// allocations here are caught by c_call).
#include "fovea/fovea.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "fovea/fovea.hpp"

struct fovea_device {
  fovea::api::Device device;
};

struct fovea_trainer {
  fovea::api::Trainer trainer;
  std::string error;
  // The C++ tickets of recorded steps not finished yet; a fovea_step_ticket
  // names one by its step index.
  std::vector<fovea::api::StepTicket> tickets;
};

namespace {

using fovea::api::Result;

void copy_message(const std::string& m, char* error, size_t error_size) {
  if (!error || error_size == 0) return;
  const size_t n = std::min(m.size(), error_size - 1);
  std::memcpy(error, m.data(), n);
  error[n] = '\0';
}

// Runs fn (returning a Result); records its error in `error` and returns the
// code, or 0 after handing the value to `done`.
template <class F, class Done>
int c_call(std::string& error, F&& fn, Done&& done) noexcept {
  try {
    auto r = fn();
    if (!r) {
      error = r.error().message;
      return int(r.error().code);
    }
    error.clear();
    if constexpr (requires { r.value(); })
      done(std::move(r).value());
    return 0;
  } catch (...) {
    return int(fovea::api::ErrorCode::Internal);  // out of host memory; error may be stale
  }
}

int trainer_call(fovea_trainer* t, auto&& fn, auto&& done) noexcept {
  if (!t) return int(fovea::api::ErrorCode::InvalidArgument);
  return c_call(t->error, fn, done);
}

int metrics_call(fovea_trainer* t, fovea_metrics* out, auto&& fn) noexcept {
  return trainer_call(t, fn, [&](const fovea::api::Metrics& m) {
    if (out) *out = {m.loss, m.accuracy, m.images};
  });
}

auto ignore = [](auto&&...) {};

fovea_step_ticket c_ticket(const fovea::api::StepTicket& t) { return {t.step(), t.parts(), t.parts_recorded()}; }

// The C++ ticket a C ticket names, or null.
fovea::api::StepTicket* find_ticket(fovea_trainer* t, const fovea_step_ticket* c) {
  if (!c) return nullptr;
  for (auto& k : t->tickets)
    if (k.step() == c->step) return &k;
  return nullptr;
}

// Remembers a newly recorded step's ticket and hands its C form to `out`.
auto keep_ticket(fovea_trainer* t, fovea_step_ticket* out) {
  return [t, out](const fovea::api::StepTicket& k) {
    t->tickets.push_back(k);
    if (out) *out = c_ticket(k);
  };
}

fovea::api::Error no_ticket(const char* what, const fovea_step_ticket* c) {
  return {fovea::api::ErrorCode::InvalidArgument,
          std::string(what) + (c ? ": step " + std::to_string(c->step) + " is not in flight (finished already, or never recorded)"
                                 : ": a NULL ticket")};
}

}  // namespace

extern "C" {

int fovea_device_adopt(VkInstance instance, VkPhysicalDevice physical, VkDevice device, uint32_t queue_family,
                       uint32_t queue_index, fovea_device** out, char* error, size_t error_size) {
  std::string message;
  int code = c_call(message, [&] { return fovea::api::Device::adopt(instance, physical, device, queue_family, queue_index); },
                    [&](fovea::api::Device d) { *out = new fovea_device{std::move(d)}; });
  copy_message(message, error, error_size);
  return code;
}

void fovea_device_destroy(fovea_device* device) { delete device; }

void fovea_trainer_options_init(fovea_trainer_options* options) {
  if (!options) return;
  const fovea::api::TrainerOptions d;
  *options = fovea_trainer_options{};
  options->size = sizeof *options;
  options->batch = d.batch;
  options->accumulate = d.accumulate;
  options->lr = d.lr;
  options->seed = d.seed;
}

int fovea_trainer_create_with_options(fovea_device* device, const fovea_trainer_options* options,
                                      fovea_trainer** out, char* error, size_t error_size) {
  std::string message;
  int code = c_call(
      message,
      [&]() -> Result<fovea::api::Trainer> {
        using fovea::api::ErrorCode;
        if (!device || !out || !options)
          return fovea::api::Error{ErrorCode::InvalidArgument, "fovea_trainer_create: a NULL device, options or out"};
        // The fields this library knows, as far as the caller's struct has them.
        fovea_trainer_options o;
        fovea_trainer_options_init(&o);
        if (options->size < offsetof(fovea_trainer_options, channels) + sizeof o.channels)
          return fovea::api::Error{ErrorCode::InvalidArgument,
                                   "fovea_trainer_create_with_options: options->size " + std::to_string(options->size) +
                                       " is too small (call fovea_trainer_options_init first)"};
        std::memcpy(&o, options, std::min(options->size, sizeof o));
        fovea::api::TrainerOptions t;
        t.spec_path = o.spec_path ? o.spec_path : "";
        t.spec_json = o.spec_json ? o.spec_json : "";
        t.batch = o.batch;
        t.accumulate = o.accumulate;
        t.optimizer = o.optimizer ? o.optimizer : "sgd";
        t.lr = o.lr;
        t.seed = o.seed;
        if (o.mean) t.mean.assign(o.mean, o.mean + o.channels);
        if (o.std) t.std.assign(o.std, o.std + o.channels);
        return fovea::api::Trainer::create(device->device, t);
      },
      [&](fovea::api::Trainer t) { *out = new fovea_trainer{std::move(t), {}}; });
  copy_message(message, error, error_size);
  return code;
}

int fovea_trainer_create(fovea_device* device, const char* spec_path, const char* spec_json, uint32_t batch,
                         const char* optimizer, double lr, uint64_t seed, const double* mean, const double* std,
                         uint32_t channels, fovea_trainer** out, char* error, size_t error_size) {
  fovea_trainer_options o;
  fovea_trainer_options_init(&o);
  o.spec_path = spec_path;
  o.spec_json = spec_json;
  o.batch = batch;
  o.optimizer = optimizer;
  o.lr = lr;
  o.seed = seed;
  o.mean = mean;
  o.std = std;
  o.channels = channels;
  return fovea_trainer_create_with_options(device, &o, out, error, error_size);
}

void fovea_trainer_destroy(fovea_trainer* trainer) { delete trainer; }
const char* fovea_trainer_last_error(const fovea_trainer* t) { return t ? t->error.c_str() : "NULL trainer"; }
uint64_t fovea_trainer_image_bytes(const fovea_trainer* t) { return t ? t->trainer.image_bytes() : 0; }
uint32_t fovea_trainer_classes(const fovea_trainer* t) { return t ? t->trainer.classes() : 0; }

int fovea_trainer_step(fovea_trainer* t, const uint8_t* images, const uint32_t* labels, uint32_t rows,
                       fovea_metrics* out) {
  return metrics_call(t, out, [&] {
    return t->trainer.step({images, images ? rows * t->trainer.image_bytes() : 0}, {labels, labels ? rows : 0});
  });
}

int fovea_trainer_step_from_buffer(fovea_trainer* t, VkBuffer images, VkDeviceSize images_offset, VkBuffer labels,
                                   VkDeviceSize labels_offset, uint32_t rows, fovea_metrics* out) {
  return metrics_call(t, out, [&] { return t->trainer.step_from_buffer(images, images_offset, labels, labels_offset, rows); });
}

int fovea_trainer_evaluate(fovea_trainer* t, const uint8_t* images, const uint32_t* labels, uint64_t count,
                           fovea_metrics* out) {
  return metrics_call(t, out, [&] {
    return t->trainer.evaluate({images, images ? count * t->trainer.image_bytes() : 0}, {labels, labels ? count : 0});
  });
}

int fovea_trainer_predict(fovea_trainer* t, const uint8_t* images, uint64_t count, float* logits) {
  return trainer_call(
      t, [&] { return t->trainer.predict({images, images && logits ? count * t->trainer.image_bytes() : 0}); },
      [&](const std::vector<float>& v) { std::memcpy(logits, v.data(), v.size() * sizeof(float)); });
}

int fovea_trainer_save(fovea_trainer* t, const char* path) {
  return trainer_call(t, [&] { return t->trainer.save(path ? path : ""); }, ignore);
}

int fovea_trainer_load(fovea_trainer* t, const char* path) {
  return trainer_call(t, [&] { return t->trainer.load(path ? path : ""); }, ignore);
}

int fovea_trainer_record_step(fovea_trainer* t, VkCommandBuffer cmd, VkBuffer images, VkDeviceSize images_offset,
                              VkBuffer labels, VkDeviceSize labels_offset, uint32_t rows, fovea_step_ticket* out) {
  return trainer_call(
      t, [&] { return t->trainer.record_step(cmd, images, images_offset, labels, labels_offset, rows); },
      keep_ticket(t, out));
}

int fovea_trainer_finish_step(fovea_trainer* t, const fovea_step_ticket* ticket, fovea_metrics* out) {
  return metrics_call(t, out, [&]() -> Result<fovea::api::Metrics> {
    fovea::api::StepTicket* k = find_ticket(t, ticket);
    if (!k) return no_ticket("fovea_trainer_finish_step", ticket);
    auto r = t->trainer.finish_step(*k);
    if (r) t->tickets.erase(t->tickets.begin() + (k - t->tickets.data()));
    return r;
  });
}

int fovea_trainer_set_part_budget(fovea_trainer* t, double budget_ms, uint32_t* parts) {
  return trainer_call(t, [&] { return t->trainer.set_part_budget(budget_ms); },
                      [&](const fovea::api::PartPlan& p) {
                        if (parts) *parts = uint32_t(p.dispatches.size());
                      });
}

int fovea_trainer_record_first_part(fovea_trainer* t, VkCommandBuffer cmd, VkBuffer images,
                                    VkDeviceSize images_offset, VkBuffer labels, VkDeviceSize labels_offset,
                                    uint32_t rows, fovea_step_ticket* out) {
  return trainer_call(
      t, [&] { return t->trainer.record_first_part(cmd, images, images_offset, labels, labels_offset, rows); },
      keep_ticket(t, out));
}

int fovea_trainer_record_next_part(fovea_trainer* t, VkCommandBuffer cmd, fovea_step_ticket* ticket) {
  return trainer_call(
      t,
      [&]() -> Result<void> {
        fovea::api::StepTicket* k = find_ticket(t, ticket);
        if (!k) return no_ticket("fovea_trainer_record_next_part", ticket);
        auto r = t->trainer.record_next_part(cmd, *k);
        if (r) *ticket = c_ticket(*k);
        return r;
      },
      ignore);
}

}  // extern "C"
