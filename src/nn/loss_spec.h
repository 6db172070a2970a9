// The model spec's "loss" object (model_spec.h): parsing, the override of
// --label-smoothing, and its canonical JSON (saved with the weights and in
// ONNX metadata).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "nn/model_spec.h"

namespace fovea::nn {

// Reads "loss"; errors name the file and the field, like the rest of the spec:
//   model x.json: 'loss': 'type' must be one of cross_entropy, mse, bce_with_logits, got "l1"
LossSpec parse_loss_spec(const nlohmann::json& j, const std::string& path);

}  // namespace fovea::nn
