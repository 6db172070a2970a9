// The public C++ API (include/fovea/fovea.hpp) on top of the library's own
// classes: a Device wraps a gpu::Context, a Trainer an nn::Model with its two
// replayed programs. Every public function runs its body through guarded(),
// which turns every exception into an api::Error: nothing throws across.
#include "fovea/fovea.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include "data/idx.h"
#include "gpu/context.h"
#include "gpu/recorder.h"
#include "nn/model.h"
#include "nn/model_spec.h"
#include "ops/optim.h"
#include "train/evaluate.h"
#include "train/weights.h"
#include "util/error.h"

namespace fovea::api {

struct Device::Impl {
  std::unique_ptr<gpu::Context> ctx;
};

struct Trainer::Impl {
  // Members in this order so the model and its replayers go before the
  // device they live on.
  std::shared_ptr<Device::Impl> device;
  nn::ModelSpec spec;
  std::vector<double> mean, std;
  std::unique_ptr<nn::Model> model;
  std::unique_ptr<gpu::Replayer> train, eval;
  ops::OptimCoefficients coefficients{ops::OptimConfig{}};
  double lr = 0;
  uint64_t seed = 0, steps = 0;
};

namespace {

// An error the API raises itself, with its code.
struct ApiError {
  ErrorCode code;
  std::string message;
};

[[noreturn]] void fail(std::string message) { throw ApiError{ErrorCode::InvalidArgument, std::move(message)}; }

// Runs `fn`; a fovea::Error becomes an error of code `code` (Vulkan when it
// names a Vulkan failure), anything else an Internal error.
template <class T, class F>
Result<T> guarded(ErrorCode code, F&& fn) noexcept {
  try {
    if constexpr (std::is_void_v<T>) {
      fn();
      return {};
    } else {
      return fn();
    }
  } catch (const ApiError& e) {
    return Error{e.code, e.message};
  } catch (const fovea::Error& e) {
    const std::string m = e.what();
    const bool vulkan = m.find("VK_ERROR") != std::string::npos || m.find("device was lost") != std::string::npos;
    return Error{vulkan ? ErrorCode::Vulkan : code, m};
  } catch (const std::bad_alloc&) {
    return Error{ErrorCode::Internal, "out of host memory"};
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, std::string("internal error: ") + e.what()};
  } catch (...) {
    return Error{ErrorCode::Internal, "internal error: an unknown exception"};
  }
}

// The number of images in `images`, which must be whole images, at least one.
uint64_t image_count(std::span<const uint8_t> images, uint64_t image_bytes, const char* what) {
  if (images.empty() || images.size() % image_bytes != 0)
    fail(std::string(what) + ": " + std::to_string(images.size()) + " bytes of images is not a whole, non-zero number of " +
         std::to_string(image_bytes) + "-byte images (C x H x W u8)");
  return images.size() / image_bytes;
}

void check_labels(std::span<const uint32_t> labels, uint64_t n, uint32_t classes, const char* what) {
  if (labels.size() != n)
    fail(std::string(what) + ": " + std::to_string(labels.size()) + " labels for " + std::to_string(n) + " images");
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= classes)
      fail(std::string(what) + ": label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
           " is not below the model's " + std::to_string(classes) + " classes");
}

Metrics metrics_of(const train::Totals& t) { return {t.mean_loss(), t.accuracy(), t.count}; }

// Writes rows images (u8) and labels (u32, or class 0 when null) into ring
// slot `slot`; labels past `rows` are 0.
void fill_host(nn::Model& m, uint32_t slot, const uint8_t* images, const uint32_t* labels, uint32_t rows,
               uint64_t image_bytes) {
  std::memcpy(m.images_ring().host(slot), images, size_t(rows) * image_bytes);
  auto* l = static_cast<uint32_t*>(m.labels_ring().host(slot));
  for (uint32_t r = 0; r < m.batch(); ++r) l[r] = labels && r < rows ? labels[r] : 0;
}

// One training step whose images and labels `fill(slot)` puts in place.
template <class Fill>
Metrics train_step(Trainer::Impl& t, uint32_t rows, Fill&& fill) {
  nn::Model& m = *t.model;
  const uint32_t slot = t.train->acquire();
  gpu::StepParams p;
  p.lr = float(t.lr);
  const auto k = t.coefficients.at(t.steps + 1, p.lr);
  std::copy(k.begin(), k.end(), p.optim);
  p.step = uint32_t(t.steps);
  p.rows = rows;
  p.seed = uint32_t(t.seed);
  p.slot = slot;
  // The slot's sums accumulate on the GPU: zero them so they hold this step alone.
  std::memset(m.train_sums().host(slot), 0, sizeof(ops::MetricSums));
  fill(slot);
  std::memcpy(m.params_ring().host(slot), &p, sizeof p);
  t.train->submit(slot);
  t.train->finish();
  ++t.steps;
  m.set_batches_tracked(m.batches_tracked() + 1);
  ops::MetricSums s;
  std::memcpy(&s, m.train_sums().host(slot), sizeof s);
  train::Totals total;
  total.add(s);
  return metrics_of(total);
}

// Runs the eval program over n images, batch by batch; labels may be null
// (prediction); with `logits`, appends each batch's logits [rows, classes].
Metrics eval_pass(Trainer::Impl& t, const uint8_t* images, const uint32_t* labels, uint64_t n,
                  std::vector<float>* logits) {
  nn::Model& m = *t.model;
  const uint64_t bytes = m.spec().input_features();
  t.eval->finish();
  train::zero_sums(m.eval_sums(), m.slots());
  for (uint64_t first = 0; first < n; first += m.batch()) {
    const uint32_t rows = uint32_t(std::min<uint64_t>(m.batch(), n - first));
    const uint32_t slot = t.eval->acquire();
    gpu::StepParams p;
    p.rows = rows;
    p.seed = uint32_t(t.seed);
    p.slot = slot;
    p.first_image = uint32_t(first);
    fill_host(m, slot, images + first * bytes, labels ? labels + first : nullptr, rows, bytes);
    std::memcpy(m.params_ring().host(slot), &p, sizeof p);
    t.eval->submit(slot);
    t.eval->finish();
    if (logits) {
      const auto* l = static_cast<const float*>(m.logits_ring().host(slot));
      logits->insert(logits->end(), l, l + size_t(rows) * m.spec().classes);
    }
  }
  return metrics_of(train::read_sums(m.eval_sums(), m.slots()));
}

}  // namespace

// ---- Device -----------------------------------------------------------------

Device::Device(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<Device> Device::create(const DeviceOptions& options) {
  return guarded<Device>(ErrorCode::InvalidArgument, [&] {
    gpu::ContextOptions o;
    o.device = options.device;
    o.validate = options.validate;
    auto impl = std::make_shared<Impl>();
    impl->ctx = gpu::Context::create(o);
    return Device(std::move(impl));
  });
}

Result<Device> Device::adopt(VkInstance instance, VkPhysicalDevice physical, VkDevice device,
                             uint32_t queue_family, uint32_t queue_index) {
  return guarded<Device>(ErrorCode::InvalidArgument, [&] {
    auto impl = std::make_shared<Impl>();
    impl->ctx = gpu::Context::adopt(instance, physical, device, queue_family, queue_index);
    return Device(std::move(impl));
  });
}

std::string Device::name() const { return impl_->ctx->info().name; }
VkDevice Device::vk_device() const { return impl_->ctx->device(); }
VkQueue Device::vk_queue() const { return impl_->ctx->queue(); }
uint64_t Device::validation_messages() const { return impl_->ctx->validation().count(); }

// ---- Trainer ----------------------------------------------------------------

Result<ChannelStats> channel_stats(std::span<const uint8_t> images, uint32_t channels, uint64_t image_bytes) {
  return guarded<ChannelStats>(ErrorCode::InvalidArgument, [&] {
    if (channels == 0 || image_bytes == 0 || image_bytes % channels != 0)
      fail("channel_stats: " + std::to_string(image_bytes) + " bytes per image do not split into " +
           std::to_string(channels) + " channels");
    const uint64_t n = image_count(images, image_bytes, "channel_stats");
    data::ChannelStats s = data::channel_stats(images.data(), n, channels, image_bytes / channels);
    return ChannelStats{s.mean, s.std};
  });
}

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;
Trainer::~Trainer() = default;

Result<Trainer> Trainer::create(const Device& device, const TrainerOptions& o) {
  return guarded<Trainer>(ErrorCode::InvalidArgument, [&] {
    if (!device.impl()) fail("Trainer::create: the device is empty (moved from?)");
    auto t = std::make_unique<Impl>();
    t->device = device.impl();
    if (!o.spec_path.empty())
      t->spec = nn::load_model_spec(o.spec_path);
    else if (!o.spec_json.empty())
      t->spec = nn::parse_model_spec_text(o.spec_json, "(TrainerOptions::spec_json)");
    else
      fail("TrainerOptions: give a model spec in spec_path or spec_json");
    if (o.batch == 0) fail("TrainerOptions::batch must be at least 1");
    nn::ModelOptions mo;
    mo.batch = o.batch;
    mo.optim = ops::optimizer_defaults(ops::parse_optimizer(o.optimizer));
    t->lr = o.lr == 0 ? ops::default_lr(mo.optim.kind) : o.lr;
    if (!(t->lr > 0) || !std::isfinite(t->lr))
      fail("TrainerOptions::lr must be a positive number (or 0 for the default), got " + std::to_string(o.lr));
    const uint32_t c = t->spec.channels;
    if (o.mean.empty() && o.std.empty()) {
      t->mean.assign(c, 0.0);
      t->std.assign(c, 1.0);
    } else {
      if (o.mean.size() != c || o.std.size() != c)
        fail("TrainerOptions::mean and std need one value per input channel (" + std::to_string(c) + "), got " +
             std::to_string(o.mean.size()) + " and " + std::to_string(o.std.size()));
      for (uint32_t i = 0; i < c; ++i)
        if (!std::isfinite(o.mean[i]) || !(o.std[i] > 0) || !std::isfinite(o.std[i]))
          fail("TrainerOptions: channel " + std::to_string(i) + " needs a finite mean and a positive std, got " +
               std::to_string(o.mean[i]) + " and " + std::to_string(o.std[i]));
      t->mean = o.mean;
      t->std = o.std;
    }
    mo.channel_mean = t->mean;
    mo.channel_std = t->std;
    mo.read_logits = true;  // predict() reads them
    t->coefficients = ops::OptimCoefficients(mo.optim);
    t->seed = o.seed;
    gpu::Context& ctx = *t->device->ctx;
    t->model = std::make_unique<nn::Model>(ctx, t->spec, mo);
    t->model->init_parameters(o.seed);
    t->train = std::make_unique<gpu::Replayer>(t->model->train_program(), t->model->slots());
    t->eval = std::make_unique<gpu::Replayer>(t->model->eval_program(), t->model->slots());
    return Trainer(std::move(t));
  });
}

uint32_t Trainer::channels() const { return impl_->spec.channels; }
uint32_t Trainer::height() const { return impl_->spec.height; }
uint32_t Trainer::width() const { return impl_->spec.width; }
uint64_t Trainer::image_bytes() const { return impl_->spec.input_features(); }
uint32_t Trainer::classes() const { return impl_->spec.classes; }
uint32_t Trainer::batch() const { return impl_->model->batch(); }
uint64_t Trainer::steps() const { return impl_->steps; }
double Trainer::lr() const { return impl_->lr; }

Result<void> Trainer::set_lr(double lr) {
  return guarded<void>(ErrorCode::InvalidArgument, [&] {
    if (!(lr > 0) || !std::isfinite(lr)) fail("set_lr: the learning rate must be positive, got " + std::to_string(lr));
    impl_->lr = lr;
  });
}

Result<Metrics> Trainer::step(std::span<const uint8_t> images, std::span<const uint32_t> labels) {
  return guarded<Metrics>(ErrorCode::InvalidArgument, [&] {
    const uint64_t n = image_count(images, image_bytes(), "step");
    if (n > batch())
      fail("step: " + std::to_string(n) + " images are more than the batch of " + std::to_string(batch()));
    check_labels(labels, n, classes(), "step");
    return train_step(*impl_, uint32_t(n), [&](uint32_t slot) {
      fill_host(*impl_->model, slot, images.data(), labels.data(), uint32_t(n), image_bytes());
    });
  });
}

Result<Metrics> Trainer::step_from_buffer(VkBuffer images, VkDeviceSize images_offset, VkBuffer labels,
                                          VkDeviceSize labels_offset, uint32_t rows) {
  return guarded<Metrics>(ErrorCode::InvalidArgument, [&] {
    if (images == VK_NULL_HANDLE || labels == VK_NULL_HANDLE) fail("step_from_buffer: a null VkBuffer");
    if (rows == 0 || rows > batch())
      fail("step_from_buffer: rows must be in 1.." + std::to_string(batch()) + ", got " + std::to_string(rows));
    nn::Model& m = *impl_->model;
    return train_step(*impl_, rows, [&](uint32_t slot) {
      // Labels past `rows` are class 0 (host writes, visible to the submit).
      std::memset(m.labels_ring().host(slot), 0, size_t(m.batch()) * sizeof(uint32_t));
      // The copy is its own submission, waited for; it ends with a barrier
      // that makes the transfer writes visible to the step's compute reads.
      impl_->device->ctx->run_once([&](VkCommandBuffer cmd) {
        const VkBufferCopy image_copy{images_offset, m.images_ring().offset_of(slot), rows * image_bytes()};
        const VkBufferCopy label_copy{labels_offset, m.labels_ring().offset_of(slot), rows * sizeof(uint32_t)};
        vkCmdCopyBuffer(cmd, images, m.images_ring().buffer(), 1, &image_copy);
        vkCmdCopyBuffer(cmd, labels, m.labels_ring().buffer(), 1, &label_copy);
      });
    });
  });
}

Result<Metrics> Trainer::evaluate(std::span<const uint8_t> images, std::span<const uint32_t> labels) {
  return guarded<Metrics>(ErrorCode::InvalidArgument, [&] {
    const uint64_t n = image_count(images, image_bytes(), "evaluate");
    check_labels(labels, n, classes(), "evaluate");
    return eval_pass(*impl_, images.data(), labels.data(), n, nullptr);
  });
}

Result<std::vector<float>> Trainer::predict(std::span<const uint8_t> images) {
  return guarded<std::vector<float>>(ErrorCode::InvalidArgument, [&] {
    const uint64_t n = image_count(images, image_bytes(), "predict");
    std::vector<float> logits;
    logits.reserve(n * classes());
    eval_pass(*impl_, images.data(), nullptr, n, &logits);
    return logits;
  });
}

Result<void> Trainer::save(const std::string& path) {
  return guarded<void>(ErrorCode::Io, [&] { train::save_weights(*impl_->model, impl_->mean, impl_->std, path); });
}

Result<void> Trainer::load(const std::string& path) {
  return guarded<void>(ErrorCode::Io, [&] { train::load_weights(*impl_->model, path); });
}

}  // namespace fovea::api
