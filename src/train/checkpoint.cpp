#include "train/checkpoint.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "nn/model.h"
#include "train/weights.h"
#include "util/error.h"

namespace fovea::train {

namespace {

constexpr const char* kFormat = "fovea-checkpoint-1";

std::string hex(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

io::Tensor flat(const std::string& name, const std::vector<float>& v) {
  return {name, {uint64_t(v.size())}, v};
}

// Reads metadata fields, each error naming the file and the field.
class Fields {
 public:
  Fields(const io::SafetensorsFile& f, const std::string& path) : f_(f), path_(path) {}
  const std::string& text(const std::string& key) const {
    auto it = f_.metadata.find(key);
    if (it == f_.metadata.end()) throw Error(path_ + ": checkpoint metadata has no '" + key + "'");
    return it->second;
  }
  double number(const std::string& key) const {
    const std::string& t = text(key);
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (t.empty() || *end != '\0') throw Error(path_ + ": checkpoint field '" + key + "' is not a number: '" + t + "'");
    return v;
  }
  uint64_t count(const std::string& key) const {
    const double v = number(key);
    if (!(v >= 0 && v < 1.8e19) || v != double(uint64_t(v)))
      throw Error(path_ + ": checkpoint field '" + key + "' must be a count, got '" + text(key) + "'");
    return uint64_t(v);
  }
  // A flat tensor of exactly `size` floats.
  std::vector<float> tensor(const std::string& name, uint64_t size) const {
    const io::Tensor* t = f_.find(name);
    if (!t) throw Error(path_ + ": checkpoint has no tensor '" + name + "'");
    if (t->shape != std::vector<uint64_t>{size})
      throw Error(path_ + ": tensor '" + name + "' holds " + std::to_string(t->data.size()) +
                  " values, the model needs " + std::to_string(size) + " (is it a checkpoint of another model?)");
    return t->data;
  }

 private:
  const io::SafetensorsFile& f_;
  const std::string& path_;
};

std::vector<std::string> parse_args(const std::string& text, const std::string& path) {
  std::vector<std::string> args;
  try {
    auto j = nlohmann::json::parse(text);
    args = j.get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception&) {
    throw Error(path + ": checkpoint field 'args' is not a JSON array of strings");
  }
  return args;
}

}  // namespace

void write_checkpoint(const std::string& path, const std::string& weights_path, const nn::Model& model,
                      const std::vector<double>& mean, const std::vector<double>& std,
                      const CheckpointState& s) {
  io::SafetensorsFile f = weights_file(model, mean, std);
  io::write_safetensors(weights_path, f);
  f.tensors.push_back(flat("optimizer.state", model.download_optimizer_state()));
  if (s.has_best) {
    f.tensors.push_back(flat("best.params", s.best_params));
    f.tensors.push_back(flat("best.state", s.best_state));
  }
  auto& m = f.metadata;
  m["format"] = kFormat;
  m["args"] = nlohmann::json(s.args).dump();
  m["command"] = s.command;
  m["epoch"] = std::to_string(s.epoch);
  m["step"] = std::to_string(s.step);
  m["batches_tracked"] = std::to_string(s.batches_tracked);
  m["first_loss"] = hex(s.first_loss);
  m["feature_sigma"] = hex(s.feature_sigma);
  m["lr.best"] = hex(s.lr.best);
  m["lr.factor"] = hex(s.lr.factor);
  m["lr.has_best"] = s.lr.has_best ? "1" : "0";
  m["lr.bad_epochs"] = std::to_string(s.lr.bad_epochs);
  m["best.epoch"] = std::to_string(s.best_epoch);
  m["best.batches_tracked"] = std::to_string(s.best_batches_tracked);
  m["best.metric"] = hex(s.best_metric);
  m["best.since"] = std::to_string(s.since_best);
  m["has_best"] = s.has_best ? "1" : "0";
  m["stop_reason"] = s.stop_reason;
  m["world_size"] = std::to_string(s.world_size);
  io::write_safetensors(path, f);
}

CheckpointState read_checkpoint(const std::string& path, nn::Model& model) {
  const io::SafetensorsFile f = io::read_safetensors(path);
  const Fields in(f, path);
  if (in.text("format") != kFormat)
    throw Error(path + ": not a Fovea checkpoint (format '" + in.text("format") + "', want " + kFormat + ")");
  if (in.text("spec") != model.spec().json)
    throw Error(path + ": the checkpoint is of another model than " + model.spec().path +
                " (the model file changed since the run started?)");
  CheckpointState s;
  s.has_best = in.text("has_best") == "1";
  load_weights(model, f, path, s.has_best ? std::set<std::string>{"optimizer.state", "best.params", "best.state"}
                                          : std::set<std::string>{"optimizer.state"});
  model.upload_optimizer_state(in.tensor("optimizer.state", model.download_optimizer_state().size()));
  if (s.has_best) {
    s.best_params = in.tensor("best.params", model.parameter_count());
    s.best_state = in.tensor("best.state", model.download_state().size());
  }
  s.args = parse_args(in.text("args"), path);
  s.command = in.text("command");
  s.epoch = uint32_t(in.count("epoch"));
  s.step = uint32_t(in.count("step"));
  s.batches_tracked = in.count("batches_tracked");
  model.set_batches_tracked(s.batches_tracked);
  s.first_loss = in.number("first_loss");
  s.feature_sigma = in.number("feature_sigma");
  s.lr.best = in.number("lr.best");
  s.lr.factor = in.number("lr.factor");
  s.lr.has_best = in.text("lr.has_best") == "1";
  s.lr.bad_epochs = uint32_t(in.count("lr.bad_epochs"));
  s.best_epoch = uint32_t(in.count("best.epoch"));
  s.best_batches_tracked = in.count("best.batches_tracked");
  s.best_metric = in.number("best.metric");
  s.since_best = uint32_t(in.count("best.since"));
  s.stop_reason = in.text("stop_reason");
  // Checkpoints from before data-parallel training are of one process.
  s.world_size = f.metadata.count("world_size") ? uint32_t(in.count("world_size")) : 1;
  return s;
}

std::vector<std::string> checkpoint_args(const std::string& run_dir) {
  const std::string path = (std::filesystem::path(run_dir) / "checkpoint.safetensors").string();
  if (!std::filesystem::is_directory(run_dir)) throw Error("--resume: no run directory " + run_dir);
  if (!std::filesystem::exists(path))
    throw Error("--resume: " + run_dir + " holds no checkpoint.safetensors (not a run directory, or one "
                "from before checkpoints)");
  const io::SafetensorsFile f = io::read_safetensors(path);
  const Fields in(f, path);
  if (in.text("format") != kFormat)
    throw Error(path + ": not a Fovea checkpoint (format '" + in.text("format") + "', want " + kFormat + ")");
  std::vector<std::string> args = parse_args(in.text("args"), path);
  if (args.empty())
    throw Error(path + " records no settings to resume with (a cross-validation split's run; run the cv again)");
  return args;
}

}  // namespace fovea::train
