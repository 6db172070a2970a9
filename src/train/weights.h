// A model's weights as a safetensors file: the parameter tensors and the
// saved state (BatchNorm's running_mean, running_var, num_batches_tracked, as
// F32) under the model's names ("0.weight", ... as torch.nn.Sequential's
// state_dict), with
// run-independent metadata only ("mean" and "std" of the input standardisation
// as JSON arrays in strings, "spec" the model spec), so two identical runs
// write identical files and PyTorch loads them with load_state_dict.
#pragma once
#include <set>
#include <string>
#include <vector>

namespace fovea::nn { class Model; struct ModelSpec; }
namespace fovea::io { struct SafetensorsFile; }

namespace fovea::train {

// Writes the model's current weights to `path` atomically.
void save_weights(const nn::Model& model, const std::vector<double>& mean,
                  const std::vector<double>& std, const std::string& path);

// Loads weights from `path` into the model. Every parameter tensor of the
// model must be in the file with the same shape, and the file may hold no
// tensor the model lacks; otherwise fovea::Error names the file and tensor.
void load_weights(nn::Model& model, const std::string& path);

// Fine-tuning (--init-partial): loads every tensor of the file whose name
// and shape match one of the model's and prints, on stdout, how many were
// loaded, the model's tensors left as initialised and the file's tensors not
// used (with their shapes). A file with no matching tensor is an error.
void load_weights_partial(nn::Model& model, const std::string& path);

// --freeze: one flag per layer of the spec from a comma-separated list of
// layer indices ("0,2") or names ("features", "layers.3"); an unknown layer,
// a repeated one, or a layer with neither parameters nor running statistics
// is an error naming it.
std::vector<bool> frozen_layers(const nn::ModelSpec& spec, const std::string& list);

// The same on a file already read (`path` for messages); tensors named in
// `others` may be in the file besides the model's own.
void load_weights(nn::Model& model, const io::SafetensorsFile& f, const std::string& path,
                  const std::set<std::string>& others);

// The tensors and metadata save_weights writes.
io::SafetensorsFile weights_file(const nn::Model& model, const std::vector<double>& mean,
                                 const std::vector<double>& std);

}  // namespace fovea::train
