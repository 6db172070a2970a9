#include "train/run_data.h"

#include <cstdio>
#include <string>

#include "util/error.h"

namespace fovea::train {

data::SourceOptions data_options(const TrainConfig& cfg, const nn::ModelSpec& spec) {
  data::SourceOptions o;
  o.channels = spec.channels, o.height = spec.height, o.width = spec.width;
  o.classes = spec.classes;
  o.resize = cfg.resize;
  o.skip_bad = cfg.skip_bad_images;
  o.class_names = cfg.class_names;
  o.decode.cache = cfg.cache;
  o.decode.progress = cfg.progress;
  o.model = cfg.model_path;
  return o;
}

data::Source open_data(const TrainConfig& cfg, const nn::ModelSpec& spec) {
  data::Source ds = data::open_source(cfg.data_dir, data_options(cfg, spec));
  for (const std::string& bad : ds.skipped) std::fprintf(stderr, "fovea: skipped %s\n", bad.c_str());
  std::printf("data: %s\n", ds.describe().c_str());
  std::fflush(stdout);
  return ds;
}

nlohmann::json source_json(const data::Source& ds, const TrainConfig& cfg) {
  auto count = [](const std::optional<data::ImageSet>& s) {
    return s ? nlohmann::json(s->count) : nlohmann::json(nullptr);
  };
  return {{"kind", ds.kind},
          {"images", {{"train", ds.train.count}, {"val", count(ds.val)}, {"test", count(ds.test)}}},
          {"input", {ds.train.channels, ds.train.height, ds.train.width}},
          {"resize", data::resize_name(cfg.resize)},
          {"skip_bad_images", cfg.skip_bad_images},
          {"skipped_images", ds.skipped.size()}};
}

std::vector<uint32_t> all_images(const data::ImageSet& set) {
  std::vector<uint32_t> v(set.count);
  for (uint32_t i = 0; i < set.count; ++i) v[i] = i;
  return v;
}

// The run's training and validation images: an explicit split (cv), the
// source's own validation set, or the --limit / --val-split holdout.
data::Split run_split(const TrainConfig& cfg, const data::Source& ds) {
  data::Split split;
  if (ds.val && (cfg.split || !cfg.val_split.empty()))
    throw Error(std::string(cfg.split ? "cross-validation makes its own validation sets" : "--val-split is refused") +
                ": " + cfg.data_dir + " has a validation set of its own (" +
                (ds.kind == "csv" ? "val rows" : "a val/ folder") + ")");
  if (cfg.split) {
    split = *cfg.split;
    if (split.train.empty()) throw Error("internal: an explicit split with no training image");
    for (const auto* list : {&split.train, &split.val})
      if (!list->empty() && list->back() >= ds.train.count)
        throw Error("internal: a split names image " + std::to_string(list->back()) + " of the " +
                    std::to_string(ds.train.count) + " in " + ds.train.images_path);
  } else {
    data::ValSpec val = cfg.val_split.empty() ? data::ValSpec{} : data::parse_val_split(cfg.val_split);
    if (ds.val) val = data::parse_val_split("0");  // the source's own validation set, not a holdout
    split = data::make_split(ds.train.count, cfg.limit, val, cfg.seed);
    if (ds.val) split.val = all_images(*ds.val);
  }
  return split;
}

}  // namespace fovea::train
