#include "train/weights.h"

#include <nlohmann/json.hpp>
#include <set>

#include "io/safetensors.h"
#include "nn/model.h"
#include "util/error.h"

namespace fovea::train {

static std::string shape_text(const std::vector<uint64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

void save_weights(const nn::Model& model, const std::vector<double>& mean,
                  const std::vector<double>& std, const std::string& path) {
  const std::vector<float> values = model.download_parameters();
  io::SafetensorsFile f;
  for (const nn::ParamTensor& t : model.tensors()) {
    io::Tensor out;
    out.name = t.name;
    out.shape.assign(t.shape.begin(), t.shape.end());
    out.data.assign(values.begin() + int64_t(t.offset), values.begin() + int64_t(t.offset + t.count));
    f.tensors.push_back(std::move(out));
  }
  f.metadata["mean"] = nlohmann::json(mean).dump();
  f.metadata["std"] = nlohmann::json(std).dump();
  f.metadata["spec"] = model.spec().json;
  io::write_safetensors(path, f);
}

void load_weights(nn::Model& model, const std::string& path) {
  const io::SafetensorsFile f = io::read_safetensors(path);
  std::vector<float> values = model.download_parameters();
  std::set<std::string> used;
  for (const nn::ParamTensor& t : model.tensors()) {
    const io::Tensor* src = f.find(t.name);
    if (!src)
      throw Error(path + ": no tensor '" + t.name + "', which the model " + model.spec().path +
                  " needs (is it a file for another model?)");
    std::vector<uint64_t> want(t.shape.begin(), t.shape.end());
    if (src->shape != want)
      throw Error(path + ": tensor '" + t.name + "' has shape " + shape_text(src->shape) +
                  " but the model needs " + shape_text(want));
    std::copy(src->data.begin(), src->data.end(), values.begin() + int64_t(t.offset));
    used.insert(t.name);
  }
  for (const io::Tensor& t : f.tensors)
    if (!used.count(t.name))
      throw Error(path + ": tensor '" + t.name + "' is not a parameter of the model " +
                  model.spec().path);
  model.upload_parameters(values);
}

}  // namespace fovea::train
