// The model's numbers in and out of the device: the seeded initialisation,
// parameters, layer state, optimizer state, gradients and the probe's
// base parameters and input gradient, and the weight penalty on the host.
#include <algorithm>
#include <cmath>

#include "data/split.h"
#include "gpu/context.h"
#include "nn/model.h"
#include "ops/optim.h"
#include "util/error.h"

namespace fovea::nn {

void Model::init_parameters(uint64_t seed) {
  std::vector<float> values(param_floats_, 0.0f);
  data::Rng rng(seed);
  for (const ParamTensor& t : tensors_) {
    if (t.init != Init::Uniform) {
      std::fill_n(values.begin() + int64_t(t.offset), t.count, t.init == Init::Ones ? 1.0f : 0.0f);
      continue;
    }
    // kaiming_uniform(a=sqrt(5)): gain sqrt(2/(1+5)) * sqrt(3/fan_in) = 1/sqrt(fan_in),
    // the same bound PyTorch uses for the bias.
    double bound = 1.0 / std::sqrt(double(std::max<uint32_t>(t.fan_in, 1)));
    for (uint64_t i = 0; i < t.count; ++i)
      values[t.offset + i] = float((2.0 * rng.uniform01() - 1.0) * bound);
  }
  upload_parameters(values);
  std::vector<float> state(state_floats_, 0.0f);
  for (const StateTensor& t : state_tensors_) {
    if (t.host_counter) continue;
    if (!t.unit_normal) {
      std::fill_n(state.begin() + int64_t(t.offset), t.count, t.init);
      continue;
    }
    // normalize(randn): Box-Muller from the seeded generator.
    double norm = 0;
    for (uint64_t i = 0; i < t.count; ++i) {
      const double u1 = std::max(double(rng.uniform01()), 1e-12), u2 = rng.uniform01();
      const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
      state[t.offset + i] = float(z);
      norm += z * z;
    }
    norm = std::max(std::sqrt(norm), 1e-12);
    for (uint64_t i = 0; i < t.count; ++i) state[t.offset + i] = float(state[t.offset + i] / norm);
  }
  upload_state(state);
  batches_tracked_ = 0;
  std::vector<float> zeros(param_floats_, 0.0f);
  gpu::upload(ctx_, grads_, zeros.data(), zeros.size() * 4);
  zeros.resize(optim_state_.size / 4, 0.0f);
  gpu::upload(ctx_, optim_state_, zeros.data(), zeros.size() * 4);
}

std::vector<float> Model::download_parameters() const {
  std::vector<float> v(param_floats_);
  gpu::download(ctx_, params_, v.data(), v.size() * 4);
  return v;
}

std::vector<float> Model::download_state() const {
  std::vector<float> v(state_floats_);
  if (!v.empty()) gpu::download(ctx_, state_, v.data(), v.size() * 4);
  return v;
}

void Model::upload_state(const std::vector<float>& values) {
  if (values.size() != state_floats_) throw Error("state size mismatch");
  if (!values.empty()) gpu::upload(ctx_, state_, values.data(), values.size() * 4);
}

std::vector<float> Model::download_optimizer_state() const {
  std::vector<float> v(optim_state_.size / 4);
  if (!v.empty()) gpu::download(ctx_, optim_state_, v.data(), v.size() * 4);
  return v;
}

void Model::upload_optimizer_state(const std::vector<float>& values) {
  if (values.size() != optim_state_.size / 4) throw Error("optimizer state size mismatch");
  if (!values.empty()) gpu::upload(ctx_, optim_state_, values.data(), values.size() * 4);
}

double Model::penalty(const std::vector<float>& params) const {
  if (params.size() != param_floats_) throw Error("parameter count mismatch");
  double sum = 0;
  for (const PenaltyTerm& t : penalty_terms_) {
    const ParamTensor& pt = tensors_[t.tensor];
    sum += ops::penalty_value(params.data() + pt.offset, pt.count, t.l1, t.l2);
  }
  return sum;
}

std::vector<float> Model::download_gradients() const {
  std::vector<float> v(param_floats_);
  gpu::download(ctx_, grads_, v.data(), v.size() * 4);
  return v;
}

void Model::upload_parameters(const std::vector<float>& values) {
  if (values.size() != param_floats_) throw Error("parameter count mismatch");
  gpu::upload(ctx_, params_, values.data(), values.size() * 4);
}

void Model::upload_base_parameters(const std::vector<float>& values) {
  if (!base_params_.valid()) throw Error("internal: base parameters of a model built without ModelOptions::probe");
  if (values.size() != param_floats_) throw Error("parameter count mismatch");
  gpu::upload(ctx_, base_params_, values.data(), values.size() * 4);
}

std::vector<float> Model::download_input_gradient() const {
  if (!x_grad_.valid()) throw Error("internal: the input gradient of a model built without ModelOptions::probe");
  std::vector<float> v(x_grad_.size / 4);
  gpu::download(ctx_, x_grad_, v.data(), x_grad_.size);
  return v;
}

}  // namespace fovea::nn
