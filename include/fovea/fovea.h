/**
 * @file fovea.h
 * @brief A C binding of fovea.hpp for engines that bind from C or C#
 * (P/Invoke): opaque handles, int status codes (0 = success, else a
 * fovea::api::ErrorCode: 1 invalid argument, 2 I/O, 3 Vulkan, 4 internal)
 * and the last error's message per handle, never global.
 *
 * Creation functions, which have no handle yet, write their message into
 * the caller's buffer. Semantics, contracts and threading are those of the
 * C++ API (docs/embedding.md).
 */
#ifndef FOVEA_FOVEA_H
#define FOVEA_FOVEA_H
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief An adopted device (fovea::api::Device). */
typedef struct fovea_device fovea_device;
/** @brief A trainer (fovea::api::Trainer). */
typedef struct fovea_trainer fovea_trainer;

/** @brief Loss and accuracy over some images. */
typedef struct fovea_metrics {
  double loss;      /**< mean softmax cross-entropy */
  double accuracy;  /**< fraction whose largest logit is the label */
  uint64_t images;  /**< images the figures cover */
} fovea_metrics;

/** @brief A recorded training step (fovea::api::StepTicket), named by its step index. */
typedef struct fovea_step_ticket {
  uint64_t step;           /**< the step's index */
  uint32_t parts;          /**< parts of the step (1 for fovea_trainer_record_step) */
  uint32_t parts_recorded; /**< parts recorded so far */
} fovea_step_ticket;

/**
 * @brief Adopts the application's device (see fovea::api::Device::adopt).
 * @param out receives the handle on success
 * @param error receives the message on failure (may be NULL)
 * @param error_size bytes of @p error
 * @return 0 or an error code
 */
int fovea_device_adopt(VkInstance instance, VkPhysicalDevice physical, VkDevice device, uint32_t queue_family,
                       uint32_t queue_index, fovea_device** out, char* error, size_t error_size);
/** @brief Releases the handle (the device lives on while a trainer uses it). NULL is ignored. */
void fovea_device_destroy(fovea_device* device);

/**
 * @brief Creates a trainer (see fovea::api::Trainer::create and TrainerOptions).
 * @param spec_path a model spec file, or NULL to use @p spec_json
 * @param mean per-channel means of pixels / 255, or NULL (with @p std) for 0
 * @param std per-channel standard deviations, or NULL for 1
 * @param channels entries in @p mean and @p std
 * @param out receives the handle on success
 * @param error receives the message on failure (may be NULL)
 * @param error_size bytes of @p error
 * @return 0 or an error code
 */
int fovea_trainer_create(fovea_device* device, const char* spec_path, const char* spec_json, uint32_t batch,
                         const char* optimizer, double lr, uint64_t seed, const double* mean, const double* std,
                         uint32_t channels, fovea_trainer** out, char* error, size_t error_size);
/**
 * @brief Every setting of fovea_trainer_create_with_options (TrainerOptions).
 * Fill it with fovea_trainer_options_init first: fields added later are read
 * only when @p size covers them, so a caller built against this header keeps
 * working with later libraries.
 */
typedef struct fovea_trainer_options {
  size_t size;             /**< sizeof(fovea_trainer_options), set by fovea_trainer_options_init */
  const char* spec_path;   /**< a model spec file, or NULL to use spec_json */
  const char* spec_json;   /**< the spec's JSON text */
  uint32_t batch;          /**< rows per micro-batch (default 64) */
  uint32_t accumulate;     /**< micro-batches per optimizer step, 1..64 (default 1) */
  const char* optimizer;   /**< default "sgd" */
  double lr;               /**< 0: the optimizer's default */
  uint64_t seed;
  const double* mean;      /**< per-channel means of pixels / 255, or NULL (with std) for 0 */
  const double* std;       /**< per-channel standard deviations, or NULL for 1 */
  uint32_t channels;       /**< entries in mean and std */
} fovea_trainer_options;

/** @brief The defaults of TrainerOptions, with @p options->size set. */
void fovea_trainer_options_init(fovea_trainer_options* options);
/**
 * @brief Creates a trainer from @p options (fovea_trainer_create, with every setting).
 * @return 0 or an error code
 */
int fovea_trainer_create_with_options(fovea_device* device, const fovea_trainer_options* options,
                                      fovea_trainer** out, char* error, size_t error_size);
/** @brief Destroys the trainer. NULL is ignored. */
void fovea_trainer_destroy(fovea_trainer* trainer);
/** @return the message of the trainer's last failed call ("" when none failed). */
const char* fovea_trainer_last_error(const fovea_trainer* trainer);
/** @return bytes per image, C * H * W. */
uint64_t fovea_trainer_image_bytes(const fovea_trainer* trainer);
/** @return the number of classes. */
uint32_t fovea_trainer_classes(const fovea_trainer* trainer);

/** @brief One step on @p rows images u8 [rows, C, H, W] and labels from host memory. @return 0 or an error code */
int fovea_trainer_step(fovea_trainer* trainer, const uint8_t* images, const uint32_t* labels, uint32_t rows,
                       fovea_metrics* out);
/** @brief One step from the caller's VkBuffers (contract: Trainer::step_from_buffer). @return 0 or an error code */
int fovea_trainer_step_from_buffer(fovea_trainer* trainer, VkBuffer images, VkDeviceSize images_offset,
                                   VkBuffer labels, VkDeviceSize labels_offset, uint32_t rows, fovea_metrics* out);
/** @brief Loss and accuracy on @p count images and labels. @return 0 or an error code */
int fovea_trainer_evaluate(fovea_trainer* trainer, const uint8_t* images, const uint32_t* labels, uint64_t count,
                           fovea_metrics* out);
/** @brief Writes logits f32 [count, classes] to @p logits. @return 0 or an error code */
int fovea_trainer_predict(fovea_trainer* trainer, const uint8_t* images, uint64_t count, float* logits);
/** @brief Saves the weights as safetensors. @return 0 or an error code */
int fovea_trainer_save(fovea_trainer* trainer, const char* path);
/** @brief Loads weights of the same model. @return 0 or an error code */
int fovea_trainer_load(fovea_trainer* trainer, const char* path);

/**
 * @brief Records one training step into @p cmd (contract and barriers: Trainer::record_step).
 * @param out receives the step's ticket
 * @return 0 or an error code
 */
int fovea_trainer_record_step(fovea_trainer* trainer, VkCommandBuffer cmd, VkBuffer images, VkDeviceSize images_offset,
                              VkBuffer labels, VkDeviceSize labels_offset, uint32_t rows, fovea_step_ticket* out);
/** @brief The metrics of a recorded step whose submission completed (Trainer::finish_step). @return 0 or an error code */
int fovea_trainer_finish_step(fovea_trainer* trainer, const fovea_step_ticket* ticket, fovea_metrics* out);
/**
 * @brief Sliced mode: parts of at most @p budget_ms GPU time each, 0 = off (Trainer::set_part_budget).
 * @param parts receives the parts per step (may be NULL)
 * @return 0 or an error code
 */
int fovea_trainer_set_part_budget(fovea_trainer* trainer, double budget_ms, uint32_t* parts);
/** @brief Records the first part of a sliced step (Trainer::record_first_part). @return 0 or an error code */
int fovea_trainer_record_first_part(fovea_trainer* trainer, VkCommandBuffer cmd, VkBuffer images,
                                    VkDeviceSize images_offset, VkBuffer labels, VkDeviceSize labels_offset,
                                    uint32_t rows, fovea_step_ticket* out);
/** @brief Records the next part of @p ticket's step and updates it (Trainer::record_next_part). @return 0 or an error code */
int fovea_trainer_record_next_part(fovea_trainer* trainer, VkCommandBuffer cmd, fovea_step_ticket* ticket);

#ifdef __cplusplus
}
#endif
#endif
