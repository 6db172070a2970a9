// The public C++ API (include/fovea/fovea.hpp) on top of the library's own
// classes: a Device wraps a gpu::Context, a Trainer an nn::Model with its two
// replayed programs. Every public function runs its body through guarded(),
// which turns every exception into an api::Error: nothing throws across.
#include "fovea/fovea.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include "api/trainer_impl.h"
#include "data/idx.h"
#include "nn/step_params.h"
#include "train/weights.h"

namespace fovea::api {

namespace {

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

// One training step of `rows` rows: per micro-batch, `fill(slot, first, n)`
// puts rows first .. first + n - 1 in ring slot `slot`; then the update
// (with accumulation). Returns the step's loss and accuracy.
Metrics train_step(Trainer::Impl& t, uint32_t rows, const train::FillRows& fill) {
  refuse_in_flight(t, "step");
  train::Session& s = *t.session;
  const uint32_t first = s.train_step(t.rate(), train::StepRows::whole(rows), fill);
  s.finish_training();
  return metrics_of(s.train_totals(first, s.parts(rows)));
}

// Runs the eval program over n images, batch by batch; labels may be null
// (prediction); with `logits` [n, classes], every batch's logits go there.
Metrics eval_pass(Trainer::Impl& t, const uint8_t* images, const uint32_t* labels, uint64_t n,
                  std::vector<float>* logits) {
  refuse_in_flight(t, logits ? "predict" : "evaluate");
  nn::Model& m = *t.model;
  const uint64_t bytes = m.spec().input_features();
  const uint32_t K = m.spec().classes;
  nn::StepParams base;
  base.seed = uint32_t(t.seed);
  train::LogitsSink sink;
  if (logits) sink = [&](size_t first, uint32_t rows, const float* l) {
    std::copy(l, l + size_t(rows) * K, logits->begin() + int64_t(first * K));
  };
  const train::Totals totals = t.session->evaluate(n, [&](uint32_t slot, uint64_t first, uint32_t rows) {
    train::fill_from_host(m, slot, images + first * bytes, labels ? labels + first : nullptr, rows);
  }, base, sink);
  return metrics_of(totals);
}

}  // namespace

// ---- Device -----------------------------------------------------------------

Device::Device(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<Device> Device::create(const DeviceOptions& options) {
  return guarded<Device>(ErrorCode::InvalidArgument, [&] {
    gpu::ContextOptions o;
    o.device = options.device;
    o.validate = options.validate;
    o.fast = options.fast;
    o.fast_name = "DeviceOptions::fast";
    o.limits = options.limits;
    o.tune = options.tune;
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
    if (o.accumulate == 0 || o.accumulate > 64)
      fail("TrainerOptions::accumulate must be in 1..64 micro-batches, got " + std::to_string(o.accumulate));
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
    // Two steps in flight, each with a ring slot per micro-batch.
    t->accumulate = o.accumulate;
    mo.accumulate = o.accumulate > 1;
    mo.slots = 2 * o.accumulate;
    t->seed = o.seed;
    gpu::Context& ctx = *t->device->ctx;
    t->model = std::make_unique<nn::Model>(ctx, t->spec, mo);
    t->model->init_parameters(o.seed);
    train::SessionOptions so;
    so.seed = o.seed;
    so.optim = mo.optim;
    so.accumulate = o.accumulate;
    so.step_sums = true;  // step() and finish_step() return a step's own metrics
    t->session = std::make_unique<train::Session>(*t->model, so);
    return Trainer(std::move(t));
  });
}

uint32_t Trainer::channels() const { return impl_->spec.channels; }
uint32_t Trainer::height() const { return impl_->spec.height; }
uint32_t Trainer::width() const { return impl_->spec.width; }
uint64_t Trainer::image_bytes() const { return impl_->spec.input_features(); }
uint32_t Trainer::classes() const { return impl_->spec.classes; }
uint32_t Trainer::batch() const { return impl_->model->batch(); }
uint32_t Trainer::accumulate() const { return impl_->accumulate; }
uint64_t Trainer::steps() const { return impl_->session->steps(); }
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
    if (n > uint64_t(batch()) * accumulate())
      fail("step: " + std::to_string(n) + " images are more than the batch of " +
           std::to_string(batch() * accumulate()) + (accumulate() > 1 ? " (batch x accumulate)" : ""));
    check_labels(labels, n, classes(), "step");
    return train_step(*impl_, uint32_t(n), [&](uint32_t slot, uint64_t first, uint32_t rows) {
      train::fill_from_host(*impl_->model, slot, images.data() + first * image_bytes(), labels.data() + first, rows);
    });
  });
}

Result<Metrics> Trainer::step_from_buffer(VkBuffer images, VkDeviceSize images_offset, VkBuffer labels,
                                          VkDeviceSize labels_offset, uint32_t rows) {
  return guarded<Metrics>(ErrorCode::InvalidArgument, [&] {
    if (images == VK_NULL_HANDLE || labels == VK_NULL_HANDLE) fail("step_from_buffer: a null VkBuffer");
    const uint32_t most = batch() * accumulate();
    if (rows == 0 || rows > most)
      fail("step_from_buffer: rows must be in 1.." + std::to_string(most) + ", got " + std::to_string(rows));
    train::Session& s = *impl_->session;
    return train_step(*impl_, rows, [&](uint32_t slot, uint64_t first, uint32_t n) {
      // The copy is its own submission, waited for; it ends with a barrier
      // that makes the transfer writes visible to the step's compute reads.
      impl_->device->ctx->run_once([&](VkCommandBuffer cmd) {
        s.record_copies(cmd, slot, images, images_offset, labels, labels_offset, first, n);
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
    std::vector<float> logits(n * classes());
    eval_pass(*impl_, images.data(), nullptr, n, &logits);
    return logits;
  });
}

Result<void> Trainer::save(const std::string& path) {
  return guarded<void>(ErrorCode::Io, [&] {
    refuse_in_flight(*impl_, "save");
    train::save_weights(*impl_->model, impl_->mean, impl_->std, path);
  });
}

Result<void> Trainer::load(const std::string& path) {
  return guarded<void>(ErrorCode::Io, [&] {
    refuse_in_flight(*impl_, "load");
    train::load_weights(*impl_->model, path);
  });
}

}  // namespace fovea::api
