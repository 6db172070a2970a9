// `fovea train --sharpen pyramid`: the epochs of a pyramid level below full
// resolution train a model of the same spec at the images' size / 2^k (a
// model whose parameters do not depend on the input size: convolutions,
// pooling, normalisation, global average pooling, then dense layers), on
// the training images downsampled by 2^k (data/downsample.h). The run's
// full-size model keeps the weights between epochs: a level's model gets
// its parameters, layer state (BatchNorm statistics) and optimizer state
// before the epoch and hands them back after it, so validation, the test,
// checkpoints and resuming see one model.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "data/idx.h"
#include "data/sharpening.h"
#include "nn/model.h"
#include "nn/model_spec.h"
#include "train/session.h"

namespace fovea::gpu { class Context; }

namespace fovea::train {

class ResolutionLadder {
 public:
  struct Level {
    uint32_t k = 0;  // downsampled by 2^k
    nn::ModelSpec spec;
    std::unique_ptr<nn::Model> model;
    std::unique_ptr<Session> session;  // its training steps (the run's session options)
    data::ImageSet images;
  };
  // Builds a level for every k > 0 the schedule uses in `epochs` epochs.
  // Throws fovea::Error naming --sharpen pyramid and the model when a layer
  // depends on the input size (flatten, reshape, or parameters that differ
  // between sizes) or the model cannot take a level's size.
  ResolutionLadder(gpu::Context& ctx, const nn::ModelSpec& spec, const nn::ModelOptions& mo,
                   const data::SharpenSchedule& schedule, uint32_t epochs, const data::ImageSet& train,
                   const nn::Model& full, const SessionOptions& so);

  // The level of epoch `epoch` (0-based), given the full model's weights
  // and optimizer state; null at full resolution.
  Level* enter(uint32_t epoch, const nn::Model& full);
  // Hands the level's weights and optimizer state back to the full model.
  static void leave(Level& level, nn::Model& full);

 private:
  const data::SharpenSchedule& schedule_;
  std::vector<std::unique_ptr<Level>> levels_;
};

}  // namespace fovea::train
