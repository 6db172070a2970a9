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
   *  memory); else an index into the device list or a case-insensitive
   *  substring of the device name. (The library reads no environment
   *  variable; `fovea` maps FOVEA_DEVICE and the others below to these.) */
  std::string device;
  /** Enables the Khronos validation layer with synchronisation validation;
   *  Device::validation_messages() counts its messages. */
  bool validate = false;
  /** Kernel choice: "" or "1" the device model's defaults; "0" portable
   *  kernels only, in fp32; "fp16" / "fp32" the fp16 paths on / off
   *  (FOVEA_FAST for `fovea`). */
  std::string fast;
  /** Clamps the device model, e.g. "vulkan11-min" (FOVEA_LIMITS for `fovea`;
   *  docs/portability.md). */
  std::string limits;
  /** Times kernel variants once per device and shape (FOVEA_TUNE=0 for
   *  `fovea` turns it off). */
  bool tune = true;
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
   * function and serialises its own submissions: Trainers of one Device may
   * each be used from a thread of its own (one thread at a time per
   * Trainer). If the application also submits to the queue from another
   * thread, it must serialise those calls with Fovea's (Vulkan's external
   * synchronisation rule for queues), e.g. by not submitting while a
   * Trainer function runs.
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
  /** Gradient accumulation, 1..64: a step takes up to batch x accumulate
   *  images, runs them as micro-batches of `batch` rows whose gradients are
   *  summed on the device, then updates once: the same as one batch of all
   *  the rows up to float summation order (BatchNorm normalises each
   *  micro-batch by its own statistics). Device memory is that of `batch`;
   *  sliced parts (Trainer::set_part_budget) get as small as one
   *  micro-batch's dispatches. */
  uint32_t accumulate = 1;
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
 * @brief A training step recorded into the caller's command buffer
 * (Trainer::record_step, or the parts of a sliced step); Trainer::finish_step
 * takes it back after the caller's submission has completed.
 *
 * A plain value (copy or move it freely); it refers to its Trainer only by
 * an identity, never by a pointer.
 */
/** @internal */
struct TicketAccess;

class StepTicket {
 public:
  StepTicket() = default;
  /** @return the step's index: Trainer::steps() before it was recorded. */
  uint64_t step() const { return step_; }
  /** @return the parts the step is cut into (1 for record_step). */
  uint32_t parts() const { return parts_; }
  /** @return the parts recorded so far. */
  uint32_t parts_recorded() const { return recorded_; }
  /** @return true when every part has been recorded. */
  bool recorded() const { return parts_ > 0 && recorded_ == parts_; }

 private:
  friend class Trainer;
  friend struct TicketAccess;
  uint64_t trainer_ = 0, step_ = 0;
  uint32_t slot_ = 0, parts_ = 0, recorded_ = 0, micro_ = 1;
};

/** @brief GPU time of one training step on this device, per dispatch, measured. */
struct StepTimes {
  std::vector<std::string> dispatches;  ///< the dispatches in order ("2.forward", ...)
  std::vector<double> ms;               ///< each one's mean GPU time, milliseconds
  double total_ms = 0;                  ///< their sum: one step
};

/** @brief How a step is cut into parts for a frame budget (Trainer::set_part_budget). */
struct PartPlan {
  double budget_ms = 0;              ///< the budget asked for (0: one part)
  std::vector<double> expected_ms;   ///< each part's expected GPU time (measured dispatches summed)
  std::vector<uint32_t> dispatches;  ///< dispatches in each part
};

/**
 * @brief A model on a Device with its optimizer: training steps, evaluation,
 * prediction and safetensors files.
 *
 * Every function but record_step, record_first_part and record_next_part
 * runs to completion before it returns: the GPU work it submitted has
 * finished, so the caller may reuse or change any buffer it passed. Those
 * three only record into the caller's command buffer (see record_step).
 * A Trainer is used from one thread at a time (Trainers of one Device may
 * run on threads of their own at once). Move-only; a
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
  /** @return rows per micro-batch (TrainerOptions::batch). */
  uint32_t batch() const;
  /** @return micro-batches per step (TrainerOptions::accumulate); a step takes up to batch() x accumulate() images. */
  uint32_t accumulate() const;
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
   * @param images u8 [rows, C, H, W], 1 <= rows <= batch() x accumulate()
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
   * @param rows images in the batch, 1 <= rows <= batch() x accumulate()
   * @return the batch's mean loss and accuracy, or an error
   */
  Result<Metrics> step_from_buffer(VkBuffer images, VkDeviceSize images_offset, VkBuffer labels,
                                   VkDeviceSize labels_offset, uint32_t rows);

  /**
   * @brief Records one whole training step into the caller's command buffer;
   * Fovea submits nothing and waits for nothing.
   *
   * Recorded: the batch copy from the caller's buffers, forward, loss,
   * backward, optimizer update and the metric sums, in this order:
   * 1. an entry barrier: srcStageMask ALL_COMMANDS, srcAccessMask
   *    MEMORY_WRITE; dstStageMask TRANSFER | COMPUTE_SHADER, dstAccessMask
   *    TRANSFER_READ | TRANSFER_WRITE | SHADER_READ | SHADER_WRITE |
   *    UNIFORM_READ (everything the caller recorded or submitted before
   *    happens before Fovea's work, and its writes are visible to it);
   * 2. vkCmdCopyBuffer of images and labels into Fovea's upload ring, then a
   *    barrier TRANSFER/TRANSFER_WRITE -> COMPUTE_SHADER/SHADER_READ;
   * 3. the step's dispatches with Fovea's own barriers between them;
   * 4. an exit barrier: srcStageMask TRANSFER | COMPUTE_SHADER, srcAccessMask
   *    TRANSFER_WRITE | SHADER_WRITE; dstStageMask ALL_COMMANDS | HOST,
   *    dstAccessMask MEMORY_READ | MEMORY_WRITE | HOST_READ (whatever the
   *    caller records after, and the host after the caller's fence, comes
   *    after Fovea's work, including its reads of the caller's buffers).
   * Only vkCmdPipelineBarrier (Vulkan 1.0), no extension. Contract:
   * - @p cmd is a primary command buffer in the recording state, outside a
   *   render pass, from a pool of the Device's queue family (compute), and
   *   is submitted to a queue of that family; between this call and
   *   finish_step Fovea's buffers of the step stay in use by it;
   * - the buffers are as for step_from_buffer (TRANSFER_SRC, on this
   *   VkDevice); their contents are read when the command buffer executes;
   * - steps may be in flight up to the Trainer's slots (2): record_step
   *   refuses a third until the oldest is finished; step(), evaluate(),
   *   predict(), load() and save() are refused while any step is in flight;
   * - the step is counted at once: steps() and lr() move as if it had run.
   *
   * @return the step's ticket for finish_step, or an error (nothing recorded)
   */
  Result<StepTicket> record_step(VkCommandBuffer cmd, VkBuffer images, VkDeviceSize images_offset, VkBuffer labels,
                                 VkDeviceSize labels_offset, uint32_t rows);

  /**
   * @brief Reads a recorded step's loss and accuracy after the caller's
   * submission holding it has completed (the caller waited for its fence).
   * Tickets are finished in the order they were recorded, each once.
   * @return the step's metrics, or an error for a ticket finished twice, out
   *         of order, not fully recorded or of another Trainer
   */
  Result<Metrics> finish_step(const StepTicket& ticket);

  /**
   * @brief Measures the training step's GPU time per dispatch on this device:
   * runs @p repeats steps on a zero batch with timestamps, then puts the
   * weights, layer state and optimizer state back as they were (the next
   * step is bit for bit what it would have been). Needs a queue that writes
   * timestamps. Refused while steps are in flight.
   * @param repeats steps to average, 1..100
   * @return the times, or an error
   */
  Result<StepTimes> measure_step(uint32_t repeats = 3);

  /**
   * @brief Sliced mode: cuts each step into parts expected to take at most
   * @p budget_ms of GPU time, from the times of measure_step (which it calls
   * once when nothing was measured yet). Consecutive dispatches are packed
   * while their sum fits; a dispatch longer than the budget is a part of its
   * own (smaller batches, or gradient accumulation, make it shorter).
   * @param budget_ms milliseconds per part; 0 = one part (the whole step)
   * @return the plan, or an error
   */
  Result<PartPlan> set_part_budget(double budget_ms);

  /**
   * @brief Records the first part of a sliced step (set_part_budget) into
   * @p cmd: the entry barrier, the batch copy and the first part's
   * dispatches, then the exit barrier (the barriers of record_step). The
   * caller records the remaining parts with record_next_part, one per frame
   * or as it likes, each into a command buffer submitted after the previous
   * part's on the same queue. Any other Trainer call waits until the last
   * part is recorded (it is refused before).
   * @return the ticket, parts_recorded() == 1, or an error
   */
  Result<StepTicket> record_first_part(VkCommandBuffer cmd, VkBuffer images, VkDeviceSize images_offset,
                                       VkBuffer labels, VkDeviceSize labels_offset, uint32_t rows);

  /**
   * @brief Records the next part of the sliced step of @p ticket into @p cmd
   * (entry barrier, the part's dispatches, exit barrier); advances the ticket.
   * @return an error for a ticket with no part left or not the step being sliced
   */
  Result<void> record_next_part(VkCommandBuffer cmd, StepTicket& ticket);

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
