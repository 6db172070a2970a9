#include "train/predict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "data/decode_set.h"
#include "gpu/context.h"
#include "util/error.h"

namespace fovea::train {

std::vector<double> softmax(const float* logits, uint32_t classes) {
  const double top = *std::max_element(logits, logits + classes);
  std::vector<double> p(classes);
  double sum = 0;
  for (uint32_t k = 0; k < classes; ++k) sum += p[k] = std::exp(double(logits[k]) - top);
  for (double& v : p) v /= sum;
  return p;
}

std::vector<Prediction> predict_files(gpu::Context& ctx, const RunInfo& run, const std::vector<std::string>& files,
                                      uint32_t top) {
  if (top == 0) throw Error("--top must be at least 1");
  const uint32_t K = run.spec.classes;
  top = std::min(top, K);
  std::vector<Prediction> out(files.size());
  for (size_t i = 0; i < files.size(); ++i) out[i].path = files[i];
  // Every file decoded on every core, not cached (single images change).
  data::DecodeJob job;
  job.source = "predict";
  job.files = files;
  job.target = {run.spec.channels, run.spec.height, run.spec.width, run.resize};
  data::DecodeOptions dopt;
  dopt.cache = false;
  dopt.keep_going = true;
  data::Decoded dec = data::decode_files(job, dopt);
  // The decoded files as an image set (labels unused: 0).
  data::ImageSet set;
  set.channels = run.spec.channels, set.height = run.spec.height, set.width = run.spec.width;
  set.pixels = std::move(dec.pixels);
  set.count = uint32_t(files.size());
  set.labels.assign(files.size(), 0);
  std::vector<uint32_t> good;
  for (size_t i = 0; i < files.size(); ++i) {
    if (dec.errors[i].empty())
      good.push_back(uint32_t(i));
    else
      out[i].error = dec.errors[i];
  }
  if (good.empty()) return out;
  run_logits(ctx, run, set, good, [&](size_t first, uint32_t rows, const float* logits) {
    for (uint32_t r = 0; r < rows; ++r) {
      const std::vector<double> p = softmax(logits + size_t(r) * K, K);
      std::vector<uint32_t> order(K);
      for (uint32_t k = 0; k < K; ++k) order[k] = k;
      std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return p[a] > p[b]; });
      Prediction& pr = out[good[first + r]];
      for (uint32_t k = 0; k < top; ++k) pr.top.push_back({order[k], p[order[k]]});
    }
  });
  return out;
}

std::string prediction_json(const RunInfo& run, const Prediction& p) {
  nlohmann::json top = nlohmann::json::array();
  for (const ClassProbability& c : p.top)
    top.push_back({{"class", run.classes[c.label]}, {"label", c.label}, {"probability", c.probability}});
  return nlohmann::json{{"path", p.path}, {"top", top}}.dump();
}

std::string prediction_text(const RunInfo& run, const Prediction& p) {
  std::string s = p.path + ":";
  for (size_t k = 0; k < p.top.size(); ++k) {
    char prob[32];
    std::snprintf(prob, sizeof prob, " %.4f", p.top[k].probability);
    s += (k ? ", " : " ") + run.classes[p.top[k].label] + prob;
  }
  return s;
}

}  // namespace fovea::train
