// The type-specific fields of a model spec's layers: each function reads
// the fields of its family of layer types from the entry `L` and sets the
// layer's output shape (from its first input's shape `in`); other types are
// left as they are. Internal to nn/model_spec.cpp.
#pragma once
#include <nlohmann/json.hpp>

#include "nn/model_spec.h"
#include "nn/spec_reader.h"

namespace fovea::nn::layer_fields {

constexpr int64_t kMaxSide = 4096;
constexpr int64_t kMaxUnits = 65536;
constexpr int64_t kMaxChannels = 65535;

using spec_reader::LayerReader;

void read_geometry(const LayerReader& r, const nlohmann::json& L, LayerSpec& layer, const Shape& in);
void read_pooling(const LayerReader& r, const nlohmann::json& L, LayerSpec& layer, const Shape& in);
void read_normalisation(const LayerReader& r, LayerSpec& layer, const Shape& in);
void read_merge(const LayerReader& r, const nlohmann::json& L, LayerSpec& layer, const ModelSpec& spec,
                const Shape& in);
void read_other(const LayerReader& r, LayerSpec& layer, const Shape& in);

}  // namespace fovea::nn::layer_fields
