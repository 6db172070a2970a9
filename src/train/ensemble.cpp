#include "train/ensemble.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "train/predict.h"
#include "util/error.h"

namespace fovea::train {

namespace {

std::string shape_text(const nn::ModelSpec& s) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on
  // the one-expression form once inlined.
  std::string out = "[";
  out.append(std::to_string(s.channels)).append(", ").append(std::to_string(s.height));
  return out.append(", ").append(std::to_string(s.width)).append("]");
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

std::vector<RunInfo> load_ensemble(const std::vector<std::string>& dirs) {
  if (dirs.empty()) throw Error("--runs names no run directory");
  std::vector<RunInfo> runs;
  for (const std::string& d : dirs) runs.push_back(load_run(d));
  const RunInfo& first = runs[0];
  for (const RunInfo& r : runs) {
    if (shape_text(r.spec) != shape_text(first.spec))
      throw Error("run " + r.dir + " takes input " + shape_text(r.spec) + ", run " + first.dir + " " +
                  shape_text(first.spec) + ": ensemble members must share the input shape");
    if (r.spec.classes != first.spec.classes)
      throw Error("run " + r.dir + " has " + std::to_string(r.spec.classes) + " classes, run " + first.dir + " " +
                  std::to_string(first.spec.classes) + ": ensemble members must share the classes");
    if (r.classes != first.classes)
      throw Error("run " + r.dir + " names its classes " + joined(r.classes) + ", run " + first.dir + " " +
                  joined(first.classes) + ": ensemble members must share the classes, in order");
  }
  return runs;
}

std::vector<double> ensemble_weights(const std::vector<double>& given, size_t members) {
  if (given.empty()) return std::vector<double>(members, 1.0 / double(members));
  if (given.size() != members)
    throw Error("--weights has " + std::to_string(given.size()) + " values for " + std::to_string(members) +
                " runs (one per run of --runs)");
  double sum = 0;
  for (double w : given) {
    if (!(std::isfinite(w) && w >= 0)) throw Error("--weights: " + number(w) + " is not a finite weight >= 0");
    sum += w;
  }
  if (!(sum > 0)) throw Error("--weights: the weights sum to 0");
  std::vector<double> out;
  for (double w : given) out.push_back(w / sum);
  return out;
}

EnsembleResult evaluate_ensemble(gpu::Context& ctx, const std::vector<RunInfo>& runs,
                                 const std::vector<double>& weights, const EvalOptions& opts) {
  EnsembleResult r;
  EvalOptions o = opts;
  o.logits = true;
  if (o.data_dir.empty()) o.data_dir = runs.at(0).data_dir;
  r.split = o.split;
  r.data_dir = o.data_dir;
  r.weights = weights;
  r.classes = runs[0].spec.classes;
  const uint32_t K = r.classes;
  std::vector<uint32_t> indices, labels;
  for (size_t m = 0; m < runs.size(); ++m) {
    std::printf("member %zu/%zu: %s\n", m + 1, runs.size(), runs[m].dir.c_str());
    std::fflush(stdout);
    const EvalResult e = evaluate_run(ctx, runs[m], o);
    if (m == 0) {
      indices = e.indices, labels = e.labels;
      r.images = e.images;
      r.probabilities.assign(size_t(r.images) * K, 0.0);
    } else if (e.indices != indices || e.labels != labels) {
      throw Error("--split " + o.split + ": run " + runs[m].dir + " held out other images than run " + runs[0].dir +
                  " (its seed, --limit or --val-split differ); ensemble them on --split test");
    }
    r.members.push_back({runs[m].dir, e.loss, e.accuracy});
    for (size_t i = 0; i < size_t(r.images); ++i) {
      const std::vector<double> p = softmax(&e.logits[i * K], K);
      for (uint32_t k = 0; k < K; ++k) r.probabilities[i * K + k] += weights[m] * p[k];
    }
  }
  double loss = 0;
  uint64_t correct = 0;
  for (size_t i = 0; i < size_t(r.images); ++i) {
    const double* p = &r.probabilities[i * K];
    loss -= std::log(std::max(p[labels[i]], std::numeric_limits<double>::min()));
    correct += uint32_t(std::max_element(p, p + K) - p) == labels[i];
  }
  r.loss = r.images ? loss / double(r.images) : 0;
  r.accuracy = r.images ? double(correct) / double(r.images) : 0;
  return r;
}

std::string ensemble_json(const EnsembleResult& r) {
  nlohmann::json members = nlohmann::json::array();
  for (size_t m = 0; m < r.members.size(); ++m)
    members.push_back({{"run", r.members[m].run},
                       {"loss", r.members[m].loss},
                       {"accuracy", r.members[m].accuracy},
                       {"weight", r.weights[m]}});
  const nlohmann::json j = {{"members", members},
                            {"ensemble", {{"loss", r.loss}, {"accuracy", r.accuracy}}},
                            {"images", r.images},
                            {"split", r.split},
                            {"data", r.data_dir}};
  return j.dump(2) + "\n";
}

std::string ensemble_table(const EnsembleResult& r) {
  std::ostringstream s;
  char line[96];
  std::snprintf(line, sizeof line, "%s: %llu images\n  weight    loss  accuracy  run\n", r.split.c_str(),
                (unsigned long long)r.images);
  s << line;
  for (size_t m = 0; m < r.members.size(); ++m) {
    std::snprintf(line, sizeof line, "  %6.3f  %6.4f  %8.4f  ", r.weights[m], r.members[m].loss,
                  r.members[m].accuracy);
    s << line << r.members[m].run << "\n";
  }
  std::snprintf(line, sizeof line, "  %6s  %6.4f  %8.4f  ensemble (weighted mean of the softmaxes)\n", "", r.loss,
                r.accuracy);
  s << line;
  return s.str();
}

}  // namespace fovea::train
