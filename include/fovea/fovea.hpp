/**
 * @file fovea.hpp
 * @brief Fovea's public C++ API: train and run a CNN on a Vulkan device that
 * Fovea creates or that the host application (a game engine, a tool) owns.
 *
 * What an embedding application includes; it needs only <vulkan/vulkan.h>
 * and the standard library. Errors are values: every function returns a
 * fovea::api::Result and no exception ever leaves it. There is no global
 * state: two Devices, or two Trainers on one Device, never share anything
 * but the Vulkan objects they were given.
 *
 * A walkthrough for engine developers is docs/embedding.md.
 */
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace fovea::api {

/** @brief The kind of failure; the message says what exactly. */
enum class ErrorCode : int {
  InvalidArgument = 1,  ///< a bad value from the caller (sizes, names, options, a bad spec)
  Io = 2,               ///< a file that cannot be read or written, or holds the wrong content
  Vulkan = 3,           ///< a Vulkan call failed (out of device memory, device lost, ...)
  Internal = 4,         ///< anything else; a bug in Fovea
};

/** @brief An error: a code and a complete sentence naming the value, field or file. */
struct Error {
  ErrorCode code = ErrorCode::Internal;  ///< the kind of failure
  std::string message;                   ///< for a person, one line
};

/**
 * @brief A value of type T or an Error (a small std::expected).
 *
 * Test it with ok() (or as a bool) before calling value(); value() on an
 * error, or error() on a value, is a programming error (it aborts through
 * std::get's exception, which the caller's code would see).
 */
template <class T>
class [[nodiscard]] Result {
 public:
  /** @brief A successful result holding @p value. */
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  /** @brief A failed result holding @p error. */
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}
  /** @return true when the result holds a value. */
  bool ok() const { return v_.index() == 0; }
  /** @return ok(). */
  explicit operator bool() const { return ok(); }
  /** @return the value; only when ok(). */
  T& value() & { return std::get<0>(v_); }
  /** @return the value; only when ok(). */
  const T& value() const& { return std::get<0>(v_); }
  /** @return the value, moved out; only when ok(). */
  T&& value() && { return std::get<0>(std::move(v_)); }
  /** @return the error; only when !ok(). */
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/** @brief A result with no value: success, or an Error. */
template <>
class [[nodiscard]] Result<void> {
 public:
  /** @brief Success. */
  Result() = default;
  /** @brief A failed result holding @p error. */
  Result(Error error) : e_(std::move(error)) {}
  /** @return true on success. */
  bool ok() const { return !e_.has_value(); }
  /** @return ok(). */
  explicit operator bool() const { return ok(); }
  /** @return the error; only when !ok(). */
  const Error& error() const { return *e_; }

 private:
  std::optional<Error> e_;
};

/** @brief Options for a Device that Fovea creates and owns. */
struct DeviceOptions {
  /** "" picks the best device (discrete > integrated > virtual > CPU, then
   *  memory; FOVEA_DEVICE overrides); else an index into the device list or
   *  a case-insensitive substring of the device name. */
  std::string device;
  /** Enables the Khronos validation layer with synchronisation validation;
   *  Device::validation_messages() counts its messages. */
  bool validate = false;
};

/**
 * @brief A Vulkan device and compute queue that Fovea submits its work to.
 *
 * Copies share one device (a reference count); the last copy (and the last
 * Trainer made from it) releases it. An adopted device is never destroyed
 * by Fovea: the application destroys its VkDevice and VkInstance only after
 * every Device copy and Trainer is gone.
 */
class Device {
 public:
  /**
   * @brief Creates Fovea's own VkInstance, VkDevice and queue.
   * @param options which device, and whether to validate
   * @return the device, or an error naming the device asked for and the devices present
   */
  static Result<Device> create(const DeviceOptions& options = {});

  /**
   * @brief Adopts the application's Vulkan objects; the application keeps ownership.
   *
   * The device must have been created with a queue of @p queue_family
   * (which must support compute) at @p queue_index, for Vulkan 1.1 or later.
   * Fovea submits to that queue from the calling thread of each Trainer
   * function; if the application also submits to it from another thread,
   * it must serialise those calls with Fovea's (Vulkan's external
   * synchronisation rule for queues).
   *
   * @param instance the application's instance
   * @param physical the physical device @p device was created from
   * @param device the application's logical device
   * @param queue_family a compute-capable queue family of @p device
   * @param queue_index the queue within @p queue_family
   * @return the device, or an error for a null handle or a bad queue family or index
   */
  static Result<Device> adopt(VkInstance instance, VkPhysicalDevice physical, VkDevice device,
                              uint32_t queue_family, uint32_t queue_index = 0);

  /** @return the physical device's name ("llvmpipe (LLVM 15.0.6, 256 bits)"). */
  std::string name() const;
  /** @return the VkDevice Fovea uses (created or adopted). */
  VkDevice vk_device() const;
  /** @return the VkQueue Fovea submits to. */
  VkQueue vk_queue() const;
  /** @return validation-layer messages so far (only a created device with
   *  DeviceOptions::validate counts them; an adopted device's messages go to
   *  the application's own messenger). */
  uint64_t validation_messages() const;

  /** @internal */
  struct Impl;
  /** @internal */
  explicit Device(std::shared_ptr<Impl> impl);
  /** @internal */
  const std::shared_ptr<Impl>& impl() const { return impl_; }

 private:
  std::shared_ptr<Impl> impl_;
};

/** @brief What a Trainer trains, and how. */
struct TrainerOptions {
  /** Path of a model spec (JSON, see the model-spec format in the README). */
  std::string spec_path;
  /** The model spec as JSON text; used when spec_path is empty. */
  std::string spec_json;
  /** Images per training step and per evaluation batch, at least 1 (device
   *  memory bounds it: a batch that does not fit is an error). */
  uint32_t batch = 64;
  /** sgd, nesterov, adagrad, rmsprop, adadelta, adam, adamw, adamax, nadam or
   *  amsgrad, with torch.optim's default hyperparameters (sgd and nesterov:
   *  momentum 0.9). */
  std::string optimizer = "sgd";
  /** Learning rate; 0 = the optimizer's default (Trainer::set_lr changes it). */
  double lr = 0;
  /** Seeds the weight initialisation and every random layer (dropout ...). */
  uint64_t seed = 1;
  /** Input standardisation, one value per input channel, of pixels / 255:
   *  the network sees (pixel / 255 - mean) / std. Both empty = mean 0,
   *  std 1. channel_stats() computes them from host images. They are fixed
   *  for the Trainer's life and saved with the weights. */
  std::vector<double> mean, std;
};

/** @brief Loss and accuracy over some images. */
struct Metrics {
  double loss = 0;      ///< mean softmax cross-entropy (natural log)
  double accuracy = 0;  ///< fraction whose largest logit is the label
  uint64_t images = 0;  ///< how many images the figures cover
};

/** @brief Per-channel mean and standard deviation of pixels / 255. */
struct ChannelStats {
  std::vector<double> mean;  ///< [channels]
  std::vector<double> std;   ///< [channels]; population standard deviation
};

/**
 * @brief Mean and standard deviation per channel of u8 images, for TrainerOptions.
 * @param images u8 [n, channels, height, width], n >= 1
 * @param channels channels per image
 * @param image_bytes bytes per image (channels * height * width)
 * @return the statistics, or an error when the sizes do not fit
 */
Result<ChannelStats> channel_stats(std::span<const uint8_t> images, uint32_t channels,
                                   uint64_t image_bytes);

/**
 * @brief A model on a Device with its optimizer: training steps, evaluation,
 * prediction and safetensors files.
 *
 * Every function runs to completion before it returns: the GPU work it
 * submitted has finished, so the caller may reuse or change any buffer it
 * passed. A Trainer is used from one thread at a time. Move-only; a
 * moved-from Trainer may only be destroyed or assigned to.
 */
class Trainer {
 public:
  /**
   * @brief Builds the model from its spec, records its programs and
   * initialises the weights (PyTorch's defaults, from options.seed).
   * @param device where it runs (the Trainer keeps it alive)
   * @param options spec, batch, optimizer, learning rate, seed, standardisation
   * @return the trainer, or an error naming the bad file, field or option
   */
  static Result<Trainer> create(const Device& device, const TrainerOptions& options);

  Trainer(Trainer&&) noexcept;
  Trainer& operator=(Trainer&&) noexcept;
  ~Trainer();

  /** @return input channels C of the model. */
  uint32_t channels() const;
  /** @return input height H. */
  uint32_t height() const;
  /** @return input width W. */
  uint32_t width() const;
  /** @return bytes per image, C * H * W (u8 pixels). */
  uint64_t image_bytes() const;
  /** @return the number of classes K (labels are 0 .. K-1). */
  uint32_t classes() const;
  /** @return images per step (the batch it was created with). */
  uint32_t batch() const;
  /** @return training steps taken so far. */
  uint64_t steps() const;
  /** @return the learning rate of the next step. */
  double lr() const;

  /**
   * @brief Sets the learning rate of the following steps (a schedule is the caller's loop).
   * @param lr a positive, finite rate
   * @return an error for a rate that is not positive and finite
   */
  Result<void> set_lr(double lr);

  /**
   * @brief One training step on a batch in host memory.
   * @param images u8 [rows, C, H, W], 1 <= rows <= batch()
   * @param labels [rows], each < classes()
   * @return the batch's mean loss and accuracy (before this step's update),
   *         or an error for sizes that do not fit or a label out of range
   */
  Result<Metrics> step(std::span<const uint8_t> images, std::span<const uint32_t> labels);

  /**
   * @brief One training step on a batch in the caller's VkBuffers.
   *
   * Fovea records vkCmdCopyBuffer from the caller's ranges into its upload
   * slot, submits it, waits for it, then runs the step. Contract:
   * - both buffers were created on this Trainer's VkDevice with
   *   VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
   * - the caller's writes to those ranges are complete and available before
   *   the call: host writes to host-coherent memory simply happen before it;
   *   GPU writes are on a submission the caller has waited for (its fence),
   *   and were followed in that submission by a memory barrier whose source
   *   covers the write and whose destination is VK_ACCESS_TRANSFER_READ_BIT;
   * - when the call returns, Fovea's copy has finished: the caller may
   *   overwrite or destroy the buffers.
   * Labels are not checked on the host here: each must be < classes().
   *
   * @param images u8 [rows, C, H, W] at @p images_offset
   * @param images_offset byte offset of the first image
   * @param labels uint32 [rows] at @p labels_offset
   * @param labels_offset byte offset of the first label
   * @param rows images in the batch, 1 <= rows <= batch()
   * @return the batch's mean loss and accuracy, or an error
   */
  Result<Metrics> step_from_buffer(VkBuffer images, VkDeviceSize images_offset, VkBuffer labels,
                                   VkDeviceSize labels_offset, uint32_t rows);

  /**
   * @brief Loss and accuracy of the current weights (evaluation mode: random layers off,
   * batch norms on their running statistics).
   * @param images u8 [n, C, H, W], any n >= 1 (run in batches of batch())
   * @param labels [n], each < classes()
   * @return the metrics, or an error
   */
  Result<Metrics> evaluate(std::span<const uint8_t> images, std::span<const uint32_t> labels);

  /**
   * @brief The logits of the current weights (evaluation mode).
   * @param images u8 [n, C, H, W], any n >= 1
   * @return f32 [n, classes()] in image order (argmax is the predicted class), or an error
   */
  Result<std::vector<float>> predict(std::span<const uint8_t> images);

  /**
   * @brief Writes the weights (and layer state) as safetensors, atomically;
   * PyTorch's load_state_dict reads it; metadata holds the spec, mean and std.
   * @param path the file to write
   * @return an error naming the file when it cannot be written
   */
  Result<void> save(const std::string& path);

  /**
   * @brief Loads weights written by save() (or `fovea train`) for the same model.
   * Optimizer state is not in the file and is left as it is; mean and std
   * stay those of TrainerOptions.
   * @param path the file to read
   * @return an error naming the file and tensor when it does not fit the model
   */
  Result<void> load(const std::string& path);

  /** @internal */
  struct Impl;

 private:
  explicit Trainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fovea::api
