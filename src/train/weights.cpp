#include "train/weights.h"

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "nn/model.h"
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
      out.data.assign(1, float(model.batches_tracked()));
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
  for (const nn::StateTensor& t : model.state_tensors()) {
    const io::Tensor* src = &find_checked(f, path, model, t.name, t.shape);
    if (t.host_counter) {
      if (!(src->data[0] >= 0) || src->data[0] != float(uint64_t(src->data[0])))
        throw Error(path + ": tensor '" + t.name + "' must hold a count, got " + std::to_string(src->data[0]));
      model.set_batches_tracked(uint64_t(src->data[0]));
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


}  // namespace fovea::train
