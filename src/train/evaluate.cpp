#include "train/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/sharpening.h"
#include "data/split.h"
#include "gpu/context.h"
#include "io/safetensors.h"
#include "nn/model.h"
#include "train/session.h"
#include "train/weights.h"
#include "util/error.h"

namespace fovea::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

void fill_from_set(nn::Model& m, const data::ImageSet& set, const uint32_t* idx, uint32_t rows, uint32_t slot) {
  const size_t bytes = set.image_bytes();
  auto* images = static_cast<uint8_t*>(m.images_ring().host(slot));
  auto* labels = static_cast<uint32_t*>(m.labels_ring().host(slot));
  for (uint32_t r = 0; r < rows; ++r) {
    std::memcpy(images + size_t(r) * bytes, set.pixels.data() + size_t(idx[r]) * bytes, bytes);
    labels[r] = set.labels[idx[r]];
  }
  for (uint32_t r = rows; r < m.batch(); ++r) labels[r] = 0;
}

void fill_from_host(nn::Model& m, uint32_t slot, const uint8_t* images, const uint32_t* labels, uint32_t rows) {
  std::memcpy(m.images_ring().host(slot), images, size_t(rows) * m.spec().input_features());
  auto* l = static_cast<uint32_t*>(m.labels_ring().host(slot));
  for (uint32_t r = 0; r < m.batch(); ++r) l[r] = labels && r < rows ? labels[r] : 0;
}

void write_pass_params(nn::Model& m, uint32_t slot, const nn::StepParams& base, uint32_t rows, uint64_t first) {
  nn::StepParams p = base;
  p.rows = rows;
  p.slot = slot;
  p.first_image = base.first_image + uint32_t(first);
  std::memcpy(m.params_ring().host(slot), &p, sizeof p);
}

void zero_sums(const gpu::View& v, uint32_t slots) {
  for (uint32_t s = 0; s < slots; ++s) std::memset(v.host(s), 0, sizeof(ops::MetricSums));
}

Totals read_sums(const gpu::View& v, uint32_t slots) {
  Totals t;
  for (uint32_t s = 0; s < slots; ++s) {
    ops::MetricSums m;
    std::memcpy(&m, v.host(s), sizeof m);
    t.add(m);
  }
  return t;
}

Totals evaluate(nn::Model& m, gpu::Replayer& r, const data::ImageSet& set,
                const std::vector<uint32_t>& indices, const nn::StepParams& base, const LogitsSink& sink) {
  return evaluate(m, r, indices.size(), [&](uint32_t slot, uint64_t first, uint32_t rows) {
    fill_from_set(m, set, indices.data() + first, rows, slot);
  }, base, sink);
}

Totals evaluate(nn::Model& m, gpu::Replayer& r, uint64_t n, const FillRows& fill, const nn::StepParams& base,
                const LogitsSink& sink) {
  Totals t;
  if (n == 0) return t;
  if (sink && !m.logits_ring().valid()) throw Error("internal: logits requested from a model that does not read them");
  r.finish();
  zero_sums(m.eval_sums(), m.slots());
  // The batch each slot last ran (first index, rows), not yet handed to the sink.
  std::vector<std::pair<size_t, uint32_t>> pending(m.slots(), {0, 0});
  auto drain = [&](uint32_t slot) {
    if (!sink || pending[slot].second == 0) return;
    sink(pending[slot].first, pending[slot].second, static_cast<const float*>(m.logits_ring().host(slot)));
    pending[slot].second = 0;
  };
  for (uint64_t first = 0; first < n; first += m.batch()) {
    uint32_t rows = uint32_t(std::min<uint64_t>(m.batch(), n - first));
    uint32_t slot = r.acquire();  // waits for the slot's previous batch
    drain(slot);
    fill(slot, first, rows);
    write_pass_params(m, slot, base, rows, first);
    r.submit(slot);
    pending[slot] = {first, rows};
  }
  r.finish();
  for (uint32_t s = 0; s < m.slots(); ++s) drain(s);
  return read_sums(m.eval_sums(), m.slots());
}

Totals evaluate_corrupted(const data::Corruption& c, const data::ImageSet& set,
                          const std::vector<uint32_t>& indices, nn::StepParams base, const EvaluateFn& run) {
  if (c.name == "blur") base.blur_sigma = float(c.value);
  if (c.name == "noise") base.noise_std = float(c.value);
  if (c.on_gpu()) return run(set, base);
  return run(data::corrupted_copy(set, indices, c), base);
}

AttackedModel attacked_copy(gpu::Context& ctx, const nn::Model& m, nn::ModelOptions mo,
                            const data::AdversarialConfig& a) {
  // Only the eval program runs: the training step stays plain and single.
  mo.attack = a;
  mo.augment = {};
  mo.data_parallel = mo.sync_bn = mo.accumulate = mo.probe = mo.read_logits = false;
  AttackedModel out;
  out.model = std::make_unique<nn::Model>(ctx, m.spec(), mo);
  out.model->upload_parameters(m.download_parameters());
  out.model->upload_state(m.download_state());
  out.model->set_batches_tracked(m.batches_tracked());
  out.step = std::make_unique<gpu::Replayer>(out.model->eval_program(), out.model->slots());
  return out;
}

// ---- run directories --------------------------------------------------------

namespace {

std::vector<double> metadata_numbers(const io::SafetensorsFile& f, const std::string& path, const char* key,
                                     uint32_t channels) {
  auto it = f.metadata.find(key);
  json j;
  if (it != f.metadata.end()) j = json::parse(it->second, nullptr, false);
  if (!j.is_array() || j.size() != channels || !std::all_of(j.begin(), j.end(), [](const json& v) { return v.is_number(); }))
    throw Error(path + ": metadata '" + key + "' must be a JSON array of " + std::to_string(channels) +
                " numbers (the input standardisation)");
  return j.get<std::vector<double>>();
}

// summary.json's field `key` (a path like "sharpen.feature_smoothing"), or
// nullptr when absent.
const json* summary_field(const json& s, const std::string& key) {
  const json* j = &s;
  std::stringstream parts(key);
  for (std::string part; std::getline(parts, part, '.');) {
    if (!j->is_object() || !j->contains(part)) return nullptr;
    j = &(*j)[part];
  }
  return j;
}

template <class T>
T summary_value(const json& s, const std::string& path, const std::string& key) {
  const json* j = summary_field(s, key);
  const bool ok = j && (std::is_same_v<T, std::string> ? j->is_string()
                        : std::is_same_v<T, bool>      ? j->is_boolean()
                        : std::is_floating_point_v<T>  ? j->is_number()
                                                       : j->is_number_unsigned());
  if (!ok) throw Error(path + ": field '" + key + "' is missing or has the wrong type");
  return j->get<T>();
}

}  // namespace

RunInfo load_run(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("run directory " + dir + " does not exist");
  RunInfo r;
  r.dir = dir;
  r.weights_path = (fs::path(dir) / "model.safetensors").string();
  const std::string summary_path = (fs::path(dir) / "summary.json").string();
  for (const std::string& f : {r.weights_path, summary_path})
    if (!fs::exists(f, ec))
      throw Error("run directory " + dir + " has no " + fs::path(f).filename().string() +
                  " (is it the --out of a finished fovea train?)");
  r.weights = io::read_safetensors(r.weights_path);
  auto spec = r.weights.metadata.find("spec");
  if (spec == r.weights.metadata.end())
    throw Error(r.weights_path + ": no metadata 'spec' (the model spec); was it written by fovea train?");
  r.spec = nn::parse_model_spec_text(spec->second, r.weights_path + " (metadata 'spec')");
  r.mean = metadata_numbers(r.weights, r.weights_path, "mean", r.spec.channels);
  r.std = metadata_numbers(r.weights, r.weights_path, "std", r.spec.channels);

  std::ifstream f(summary_path);
  const json s = json::parse(f, nullptr, false);
  if (!s.is_object()) throw Error(summary_path + ": not a JSON object");
  r.data_dir = summary_value<std::string>(s, summary_path, "data");
  r.seed = summary_value<uint64_t>(s, summary_path, "seed");
  r.limit = summary_value<uint32_t>(s, summary_path, "limit");
  r.batch = summary_value<uint32_t>(s, summary_path, "batch");
  if (summary_field(s, "val_split")) r.val_split = summary_value<std::string>(s, summary_path, "val_split");
  if (const json* c = summary_field(s, "classes"); c && !c->is_null()) {
    if (!c->is_array() || c->size() != r.spec.classes ||
        !std::all_of(c->begin(), c->end(), [](const json& v) { return v.is_string(); }))
      throw Error(summary_path + ": field 'classes' must be an array of " + std::to_string(r.spec.classes) +
                  " class names");
    r.classes = c->get<std::vector<std::string>>();
  } else {
    for (uint32_t k = 0; k < r.spec.classes; ++k) r.classes.push_back(std::to_string(k));
  }
  if (summary_field(s, "data_source.resize"))
    r.resize = data::parse_resize(summary_value<std::string>(s, summary_path, "data_source.resize"));
  if (summary_field(s, "data_source.skip_bad_images"))
    r.skip_bad_images = summary_value<bool>(s, summary_path, "data_source.skip_bad_images");
  if (summary_field(s, "sharpen.final_feature_sigma"))
    r.feature_sigma = summary_value<double>(s, summary_path, "sharpen.final_feature_sigma");
  else if (summary_field(s, "sharpen.feature_smoothing") &&
           summary_value<bool>(s, summary_path, "sharpen.feature_smoothing"))
    throw Error(summary_path + ": the run used --feature-smoothing but does not record its final sigma "
                "(sharpen.final_feature_sigma; written by newer versions of fovea train)");
  return r;
}

data::Source open_run_data(const RunInfo& run, const std::string& data, bool progress) {
  data::SourceOptions o;
  o.channels = run.spec.channels, o.height = run.spec.height, o.width = run.spec.width;
  o.classes = run.spec.classes;
  o.resize = run.resize;
  o.skip_bad = run.skip_bad_images;
  o.decode.progress = progress;
  o.model = run.weights_path + " (metadata 'spec')";
  const std::string path = data.empty() ? run.data_dir : data;
  data::Source src = data::open_source(path, o);
  // Labels are logit columns: data whose classes have names must name the run's, in its order.
  bool numbered = true;
  for (size_t k = 0; k < src.classes.size(); ++k) numbered = numbered && src.classes[k] == std::to_string(k);
  if (!numbered && src.classes != run.classes) {
    std::string a, b;
    for (const auto& c : src.classes) a += (a.empty() ? "" : ", ") + c;
    for (const auto& c : run.classes) b += (b.empty() ? "" : ", ") + c;
    throw Error(path + ": its classes (" + a + ") are not those of the run " + run.dir + " (" + b + ")");
  }
  src.classes = run.classes;
  return src;
}

std::unique_ptr<nn::Model> load_run_model(gpu::Context& ctx, const RunInfo& run, nn::ModelOptions mo,
                                          nn::StepParams& base, uint32_t max_batch) {
  mo.batch = max_batch ? std::min(run.batch, max_batch) : run.batch;
  mo.channel_mean = run.mean;
  mo.channel_std = run.std;
  mo.feature_smoothing = run.feature_sigma > 0;
  auto model = std::make_unique<nn::Model>(ctx, run.spec, mo);
  load_weights(*model, run.weights_path);
  base = {};
  base.seed = uint32_t(run.seed);  // the noise of fovea train --test-noise
  base.feature_sigma = float(run.feature_sigma);
  return model;
}

void run_logits(gpu::Context& ctx, const RunInfo& run, const data::ImageSet& set,
                const std::vector<uint32_t>& indices, const LogitsSink& sink) {
  nn::ModelOptions mo;
  mo.read_logits = true;
  nn::StepParams base;
  const std::unique_ptr<nn::Model> model = load_run_model(ctx, run, mo, base);
  SessionOptions so;
  so.training = false;
  Session session(*model, so);
  session.evaluate(set, indices, base, sink);
}

EvalResult evaluate_run(gpu::Context& ctx, const RunInfo& run, const EvalOptions& opts) {
  if (opts.split != "test" && opts.split != "val" && opts.split != "train")
    throw Error("--split must be test, val or train, got '" + opts.split + "'");
  if (!(opts.blur_sigma >= 0 && opts.blur_sigma <= data::kMaxSharpenSigma))
    throw Error("--blur-sigma " + std::to_string(opts.blur_sigma) + " is outside [0, 20] pixels");
  if (!(opts.noise_std >= 0 && std::isfinite(opts.noise_std)))
    throw Error("--noise " + std::to_string(opts.noise_std) + " is not a standard deviation >= 0");
  const std::vector<data::Corruption> corruptions = data::parse_corruptions(opts.corrupt, "--test-corrupt");
  EvalResult r;
  r.split = opts.split;
  r.data_dir = opts.data_dir.empty() ? run.data_dir : opts.data_dir;
  r.classes = run.spec.classes;
  r.class_names = run.classes;
  const data::Source ds = open_run_data(run, r.data_dir);
  if (opts.split == "test" && !ds.test) throw Error("--split test: " + r.data_dir + " has no test set");
  const data::ImageSet& set = opts.split == "test" ? *ds.test : opts.split == "val" && ds.val ? *ds.val : ds.train;
  std::vector<uint32_t> indices;
  if (opts.split == "test" || (opts.split == "val" && ds.val)) {
    indices.resize(set.count);
    for (uint32_t i = 0; i < set.count; ++i) indices[i] = i;
  } else {
    // The run's own holdout, rebuilt from its seed, --limit and --val-split.
    if (!run.val_split)
      throw Error("--split " + opts.split + ": " + run.dir + "/summary.json does not record the run's "
                  "--val-split (written by newer versions of fovea train)");
    data::ValSpec val = run.val_split->empty() ? data::ValSpec{} : data::parse_val_split(*run.val_split);
    if (ds.val) val = data::parse_val_split("0");  // a validation set of its own: no holdout
    data::Split split = data::make_split(ds.train.count, run.limit, val, run.seed);
    indices = opts.split == "val" ? split.val : split.train;
    if (indices.empty())
      throw Error("--split val: the run " + run.dir + " held out no validation images (--val-split 0)");
  }

  if (!opts.fgsm.empty() && !opts.pgd.empty()) throw Error("--fgsm and --pgd exclude each other");
  if (!opts.fgsm.empty()) r.attack = data::parse_attack(opts.fgsm, false, "--fgsm");
  if (!opts.pgd.empty()) r.attack = data::parse_attack(opts.pgd, true, "--pgd");
  nn::ModelOptions mo;
  mo.read_logits = true;
  mo.attack = r.attack;
  nn::StepParams base;
  const std::unique_ptr<nn::Model> loaded = load_run_model(ctx, run, mo, base);
  nn::Model& model = *loaded;
  SessionOptions so;
  so.training = false;
  Session session(model, so);
  base.blur_sigma = float(opts.blur_sigma);
  base.noise_std = float(opts.noise_std);
  const uint32_t K = r.classes;
  r.logits.assign(indices.size() * K, 0.0f);
  const Totals t = session.evaluate(set, indices, base, [&](size_t first, uint32_t rows, const float* l) {
    std::copy(l, l + size_t(rows) * K, r.logits.begin() + int64_t(first * K));
  });
  r.images = t.count;
  r.loss = t.mean_loss();
  r.accuracy = t.accuracy();
  r.class_images.assign(K, 0);
  r.confusion.assign(K, std::vector<uint64_t>(K, 0));
  for (size_t i = 0; i < indices.size(); ++i) {
    const float* row = &r.logits[i * K];
    const uint32_t truth = set.labels[indices[i]];
    r.class_images[truth]++;
    r.confusion[truth][size_t(std::max_element(row, row + K) - row)]++;
  }
  if (!opts.logits) {
    r.logits.clear();
  } else {
    r.indices = indices;
    for (uint32_t i : indices) r.labels.push_back(set.labels[i]);
  }
  nn::StepParams clean = base;
  clean.blur_sigma = clean.noise_std = 0;
  for (const data::Corruption& c : corruptions) {
    const Totals ct = evaluate_corrupted(c, set, indices, clean, [&](const data::ImageSet& s, const nn::StepParams& p) {
      return session.evaluate(s, indices, p);
    });
    r.corrupted.push_back({c.name, c.value, ct.mean_loss(), ct.accuracy()});
  }
  return r;
}

std::string eval_json(const RunInfo& run, const EvalOptions& opts, const EvalResult& r) {
  json per_class = json::array();
  for (uint32_t k = 0; k < r.classes; ++k)
    per_class.push_back({{"class", k}, {"name", r.class_names[k]}, {"images", r.class_images[k]},
                         {"accuracy", r.class_accuracy(k)}});
  json j = {{"run", run.dir},        {"split", r.split},       {"data", r.data_dir},
            {"images", r.images},    {"loss", r.loss},         {"accuracy", r.accuracy},
            {"blur_sigma", opts.blur_sigma}, {"noise_std", opts.noise_std},
            {"attack", r.attack.any() ? json{{"kind", r.attack.steps > 1 ? "pgd" : "fgsm"}, {"eps", r.attack.eps},
                                             {"steps", r.attack.steps}, {"alpha", r.attack.alpha()}}
                                      : json(nullptr)},
            {"classes", r.class_names},  {"per_class", per_class}, {"confusion", r.confusion}};
  if (!r.corrupted.empty()) {
    json corrupted = json::array();
    for (const auto& c : r.corrupted)
      corrupted.push_back({{"corruption", c.corruption}, {"value", c.value}, {"loss", c.loss}, {"accuracy", c.accuracy}});
    j["corrupted"] = corrupted;
  }
  return j.dump(2) + "\n";
}

std::string eval_table(const EvalResult& r) {
  std::ostringstream s;
  char line[128];
  std::snprintf(line, sizeof line, "%s: %llu images  loss %.4f  accuracy %.4f\n", r.split.c_str(),
                (unsigned long long)r.images, r.loss, r.accuracy);
  s << line;
  if (r.attack.any()) s << "under attack: " << data::describe_attack(r.attack) << " (pixel units)\n";
  s << "\nclass  images  accuracy  name\n";
  for (uint32_t k = 0; k < r.classes; ++k) {
    std::snprintf(line, sizeof line, "%5u  %6llu  %8.4f  ", k, (unsigned long long)r.class_images[k],
                  r.class_accuracy(k));
    s << line << r.class_names[k] << "\n";
  }
  s << "\nconfusion matrix (rows: true class, columns: predicted class)\n  true";
  for (uint32_t k = 0; k < r.classes; ++k) s << std::setw(6) << k;
  s << "\n";
  for (uint32_t t = 0; t < r.classes; ++t) {
    s << std::setw(6) << t;
    for (uint32_t p = 0; p < r.classes; ++p) s << std::setw(6) << r.confusion[t][p];
    s << "\n";
  }
  if (!r.corrupted.empty()) s << "\ncorrupted (--test-corrupt, the original images damaged)\n";
  for (const auto& c : r.corrupted) {
    std::snprintf(line, sizeof line, "  %-10s %-6g loss %.4f  accuracy %.4f\n", c.corruption.c_str(), c.value, c.loss,
                  c.accuracy);
    s << line;
  }
  return s.str();
}

}  // namespace fovea::train
