#include "train/resolution_ladder.h"

#include <nlohmann/json.hpp>

#include "data/downsample.h"
#include "util/error.h"

namespace fovea::train {

namespace {

std::string size_text(uint32_t h, uint32_t w) { return std::to_string(h) + "x" + std::to_string(w); }

// The spec at another input size, its shapes derived again.
nn::ModelSpec resized(const nn::ModelSpec& spec, uint32_t h, uint32_t w) {
  nlohmann::json j = nlohmann::json::parse(spec.json);
  j["input"] = {spec.channels, h, w};
  return nn::parse_model_spec_text(j.dump(), spec.path);
}

}  // namespace

ResolutionLadder::ResolutionLadder(gpu::Context& ctx, const nn::ModelSpec& spec, const nn::ModelOptions& mo,
                                   const data::SharpenSchedule& schedule, uint32_t epochs,
                                   const data::ImageSet& train, const nn::Model& full, const SessionOptions& so)
    : schedule_(schedule) {
  const std::string where = "--sharpen pyramid: " + spec.path;
  auto size_free = [&](const nn::LayerSpec& l, const std::string& at) {
    if (l.type == nn::LayerType::Flatten || l.type == nn::LayerType::Reshape)
      throw Error(where + ": " + at + " (" + nn::layer_type_name(l.type) +
                  ") makes the model depend on the input size; pyramid training needs layers that accept any "
                  "size (convolutions, pooling, global_avgpool2d before dense), e.g. "
                  "assets/models/fashion_allconv.json");
  };
  for (const nn::LayerSpec& l : spec.layers) size_free(l, "layers[" + std::to_string(l.position) + "]");
  for (const nn::AuxHead& h : spec.aux)
    for (size_t j = 0; j < h.layers.size(); ++j)
      size_free(h.layers[j], "aux head '" + h.name + "' layers[" + std::to_string(j) + "]");
  for (uint32_t e = 0; e < epochs; ++e) {
    const uint32_t k = schedule.downsample(e);
    if (k == 0 || (levels_.size() > k && levels_[k])) continue;
    if (levels_.size() <= k) levels_.resize(k + 1);
    auto level = std::make_unique<Level>();
    level->k = k;
    const uint32_t f = 1u << k, h = (spec.height + f - 1) / f, w = (spec.width + f - 1) / f;
    try {
      level->spec = resized(spec, h, w);
    } catch (const Error& err) {
      throw Error(where + " cannot take the level's size " + size_text(h, w) + " (1/" + std::to_string(f) +
                  " of " + size_text(spec.height, spec.width) + "; fewer --levels?): " + err.what());
    }
    level->model = std::make_unique<nn::Model>(ctx, level->spec, mo);
    if (level->model->parameter_count() != full.parameter_count() ||
        level->model->state_tensors().size() != full.state_tensors().size())
      throw Error(where + ": at " + size_text(h, w) + " the model has " +
                  std::to_string(level->model->parameter_count()) + " parameters, at " +
                  size_text(spec.height, spec.width) + " " + std::to_string(full.parameter_count()) +
                  "; pyramid training needs parameters that do not depend on the input size");
    SessionOptions lo = so;
    lo.profile = false;  // --profile times the full-size model's step
    level->session = std::make_unique<Session>(*level->model, lo);
    level->images = data::downsample_set(train, k);
    levels_[k] = std::move(level);
  }
}

ResolutionLadder::Level* ResolutionLadder::enter(uint32_t epoch, const nn::Model& full) {
  const uint32_t k = schedule_.downsample(epoch);
  if (k == 0) return nullptr;
  Level& l = *levels_.at(k);
  l.model->upload_parameters(full.download_parameters());
  l.model->upload_state(full.download_state());
  l.model->upload_optimizer_state(full.download_optimizer_state());
  l.model->set_batches_tracked(full.batches_tracked());
  return &l;
}

void ResolutionLadder::leave(Level& l, nn::Model& full) {
  full.upload_parameters(l.model->download_parameters());
  full.upload_state(l.model->download_state());
  full.upload_optimizer_state(l.model->download_optimizer_state());
  full.set_batches_tracked(l.model->batches_tracked());
}

}  // namespace fovea::train
