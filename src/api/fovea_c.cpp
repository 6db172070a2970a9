// The C binding (include/fovea/fovea.h): thin wrappers over the C++ API.
// Each trainer handle keeps its own last error; nothing is global, and no
// exception leaves a function (the C++ API catches its own; the few
// allocations here are caught by c_call).
#include "fovea/fovea.h"

#include <cstring>
#include <span>
#include <string>

#include "fovea/fovea.hpp"

struct fovea_device {
  fovea::api::Device device;
};

struct fovea_trainer {
  fovea::api::Trainer trainer;
  std::string error;
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

int fovea_trainer_create(fovea_device* device, const char* spec_path, const char* spec_json, uint32_t batch,
                         const char* optimizer, double lr, uint64_t seed, const double* mean, const double* std,
                         uint32_t channels, fovea_trainer** out, char* error, size_t error_size) {
  std::string message;
  int code = c_call(
      message,
      [&]() -> Result<fovea::api::Trainer> {
        if (!device || !out) return fovea::api::Error{fovea::api::ErrorCode::InvalidArgument, "fovea_trainer_create: a NULL device or out"};
        fovea::api::TrainerOptions o;
        o.spec_path = spec_path ? spec_path : "";
        o.spec_json = spec_json ? spec_json : "";
        o.batch = batch;
        o.optimizer = optimizer ? optimizer : "sgd";
        o.lr = lr;
        o.seed = seed;
        if (mean) o.mean.assign(mean, mean + channels);
        if (std) o.std.assign(std, std + channels);
        return fovea::api::Trainer::create(device->device, o);
      },
      [&](fovea::api::Trainer t) { *out = new fovea_trainer{std::move(t), {}}; });
  copy_message(message, error, error_size);
  return code;
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

}  // extern "C"
