#include "train/weights.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "nn/model.h"
#include "nn/model_spec.h"
#include "util/error.h"

namespace fovea::train {

static std::string shape_text(const std::vector<uint64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// The file's tensor `name`, which must have `shape`; errors name the file.
static const io::Tensor& find_checked(const io::SafetensorsFile& f, const std::string& path,
                                      const nn::Model& model, const std::string& name,
                                      const std::vector<uint32_t>& shape) {
  const io::Tensor* src = f.find(name);
  if (!src)
    throw Error(path + ": no tensor '" + name + "', which the model " + model.spec().path +
                " needs (is it a file for another model?)");
  std::vector<uint64_t> want(shape.begin(), shape.end());
  if (src->shape != want)
    throw Error(path + ": tensor '" + name + "' has shape " + shape_text(src->shape) +
                " but the model needs " + shape_text(want));
  return *src;
}

io::SafetensorsFile weights_file(const nn::Model& model, const std::vector<double>& mean,
                                 const std::vector<double>& std) {
  const std::vector<float> values = model.download_parameters();
  io::SafetensorsFile f;
  for (const nn::ParamTensor& t : model.tensors()) {
    io::Tensor out;
    out.name = t.name;
    out.shape.assign(t.shape.begin(), t.shape.end());
    out.data.assign(values.begin() + int64_t(t.offset), values.begin() + int64_t(t.offset + t.count));
    f.tensors.push_back(std::move(out));
  }
  const std::vector<float> state = model.download_state();
  for (const nn::StateTensor& t : model.state_tensors()) {
    io::Tensor out;
    out.name = t.name;
    out.shape.assign(t.shape.begin(), t.shape.end());
    if (t.host_counter)
      out.data.assign(1, float(model.counter_value(t)));
    else
      out.data.assign(state.begin() + int64_t(t.offset), state.begin() + int64_t(t.offset + t.count));
    f.tensors.push_back(std::move(out));
  }
  f.metadata["mean"] = nlohmann::json(mean).dump();
  f.metadata["std"] = nlohmann::json(std).dump();
  f.metadata["spec"] = model.spec().json;
  return f;
}

void save_weights(const nn::Model& model, const std::vector<double>& mean,
                  const std::vector<double>& std, const std::string& path) {
  io::write_safetensors(path, weights_file(model, mean, std));
}

void load_weights(nn::Model& model, const std::string& path) {
  load_weights(model, io::read_safetensors(path), path, {});
}

void load_weights(nn::Model& model, const io::SafetensorsFile& f, const std::string& path,
                  const std::set<std::string>& others) {
  std::vector<float> values = model.download_parameters();
  std::set<std::string> used;
  for (const nn::ParamTensor& t : model.tensors()) {
    const io::Tensor* src = &find_checked(f, path, model, t.name, t.shape);
    std::copy(src->data.begin(), src->data.end(), values.begin() + int64_t(t.offset));
    used.insert(t.name);
  }
  std::vector<float> state = model.download_state();
  for (size_t i = 0; i < model.state_tensors().size(); ++i) {
    const nn::StateTensor& t = model.state_tensors()[i];
    const io::Tensor* src = &find_checked(f, path, model, t.name, t.shape);
    if (t.host_counter) {
      if (!(src->data[0] >= 0) || src->data[0] != float(uint64_t(src->data[0])))
        throw Error(path + ": tensor '" + t.name + "' must hold a count, got " + std::to_string(src->data[0]));
      model.set_counter(i, uint64_t(src->data[0]));
    } else {
      std::copy(src->data.begin(), src->data.end(), state.begin() + int64_t(t.offset));
    }
    used.insert(t.name);
  }
  model.upload_state(state);
  for (const io::Tensor& t : f.tensors)
    if (!used.count(t.name) && !others.count(t.name))
      throw Error(path + ": tensor '" + t.name + "' is not a parameter of the model " +
                  model.spec().path);
  model.upload_parameters(values);
}


void load_weights_partial(nn::Model& model, const std::string& path) {
  const io::SafetensorsFile f = io::read_safetensors(path);
  std::vector<float> values = model.download_parameters();
  std::vector<float> state = model.download_state();
  std::set<std::string> used;
  std::vector<std::string> not_loaded;
  // One tensor of the model: copied when the file has it with its shape.
  auto take = [&](const std::string& name, const std::vector<uint32_t>& shape, float* dst) {
    const io::Tensor* src = f.find(name);
    const std::vector<uint64_t> want(shape.begin(), shape.end());
    if (!src || src->shape != want) {
      not_loaded.push_back(name + " " + shape_text(want) +
                           (src ? " (the file's is " + shape_text(src->shape) + ")" : " (not in the file)"));
      return false;
    }
    if (dst) std::copy(src->data.begin(), src->data.end(), dst);
    used.insert(name);
    return true;
  };
  for (const nn::ParamTensor& t : model.tensors()) take(t.name, t.shape, values.data() + t.offset);
  for (size_t i = 0; i < model.state_tensors().size(); ++i) {
    const nn::StateTensor& t = model.state_tensors()[i];
    if (!t.host_counter) {
      take(t.name, t.shape, state.data() + t.offset);
    } else if (take(t.name, t.shape, nullptr)) {
      const float n = f.find(t.name)->data[0];
      if (!(n >= 0) || n != float(uint64_t(n)))
        throw Error(path + ": tensor '" + t.name + "' must hold a count, got " + std::to_string(n));
      model.set_counter(i, uint64_t(n));
    }
  }
  if (used.empty())
    throw Error(path + ": no tensor matches the model " + model.spec().path + " in name and shape (--init-partial)");
  model.upload_parameters(values);
  model.upload_state(state);
  std::printf("--init-partial: loaded %zu tensors of %s\n", used.size(), path.c_str());
  for (const std::string& n : not_loaded) std::printf("  not loaded (initialised): %s\n", n.c_str());
  for (const io::Tensor& t : f.tensors)
    if (!used.count(t.name)) std::printf("  unused in the file: %s %s\n", t.name.c_str(), shape_text(t.shape).c_str());
}

std::vector<bool> frozen_layers(const nn::ModelSpec& spec, const std::string& list) {
  std::vector<bool> frozen;
  if (list.empty()) return frozen;
  frozen.assign(spec.layers.size(), false);
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, comma - start);
    start = comma + 1;
    // A layer's index is its place in the file's list (aux_head entries count, as in tensor names).
    size_t index = spec.layers.size();
    for (size_t i = 0; i < spec.layers.size(); ++i)
      if (spec.layers[i].name == item || std::to_string(spec.layers[i].position) == item) index = i;
    if (index == spec.layers.size())
      throw Error("--freeze: '" + item + "' is neither a layer index (0.." + std::to_string(spec.layers.back().position) +
                  ") nor a layer name of the model " + spec.path);
    const nn::LayerSpec& l = spec.layers[index];
    const bool weighted = l.type == nn::LayerType::Dense || l.type == nn::LayerType::Conv2d ||
                          l.type == nn::LayerType::ConvTranspose2d || l.type == nn::LayerType::SqueezeExcitation;
    const bool norm = l.type == nn::LayerType::BatchNorm2d || l.type == nn::LayerType::BatchNorm1d ||
                      (l.affine && (l.type == nn::LayerType::LayerNorm || l.type == nn::LayerType::InstanceNorm2d ||
                                    l.type == nn::LayerType::GroupNorm));
    if (!weighted && !norm)
      throw Error("--freeze: layer " + std::to_string(l.position) + " (" + nn::layer_type_name(l.type) +
                  ") has no parameters or running statistics to freeze");
    if (frozen[index]) throw Error("--freeze: layer " + std::to_string(l.position) + " is named twice");
    frozen[index] = true;
  }
  return frozen;
}

}  // namespace fovea::train
