#include "nn/model.h"

#include <cmath>
#include <sstream>

#include "data/split.h"
#include "gpu/context.h"
#include "ops/activation.h"
#include "ops/decode.h"
#include "ops/dense.h"
#include "ops/loss.h"
#include "util/error.h"

namespace fovea::nn {

using gpu::View;

struct Model::Layer {
  LayerSpec spec;
  uint32_t index = 0;
  uint64_t in_features = 0, out_features = 0;  // per sample
  View in, din;                                // the previous layer's out/dout
  View out, dout;
  View w, b, dw, db;  // dense only
  bool need_dinput = false;
};

Model::Model(gpu::Context& ctx, const ModelSpec& spec, const ModelOptions& opts)
    : ctx_(ctx), spec_(spec), opts_(opts) {
  if (opts_.batch == 0) throw Error("--batch must be at least 1");
  if (opts_.channel_mean.size() != spec_.channels || opts_.channel_std.size() != spec_.channels)
    throw Error("model " + spec_.path + ": the data has " +
                std::to_string(opts_.channel_mean.size()) + " channels, the model expects " +
                std::to_string(spec_.channels));
  build();
}

Model::~Model() = default;

void Model::build() {
  device_ = std::make_unique<gpu::Arena>(ctx_, gpu::MemoryKind::Device, "device");
  upload_ = std::make_unique<gpu::Arena>(ctx_, gpu::MemoryKind::Upload, "upload");
  readback_ = std::make_unique<gpu::Arena>(ctx_, gpu::MemoryKind::Readback, "readback");
  const uint32_t B = opts_.batch;
  const uint64_t D = spec_.input_features();
  // Parameter tensors are aligned inside the block so each can be bound as
  // its own storage-buffer range.
  const uint64_t align = ctx_.info().view_alignment / 4;
  auto add_tensor = [&](const std::string& name, std::vector<uint32_t> shape, uint32_t fan_in) {
    uint64_t n = 1;
    for (uint32_t d : shape) n *= d;
    param_floats_ = (param_floats_ + align - 1) / align * align;
    tensors_.push_back({name, shape, param_floats_, n, fan_in});
    param_floats_ += n;
    return tensors_.size() - 1;
  };

  std::vector<size_t> w_index(spec_.layers.size(), SIZE_MAX), b_index(spec_.layers.size(), SIZE_MAX);
  uint64_t features = D;
  bool params_before = false;
  for (uint32_t i = 0; i < spec_.layers.size(); ++i) {
    Layer L;
    L.spec = spec_.layers[i];
    L.index = i;
    L.in_features = features;
    L.need_dinput = params_before;
    if (L.spec.type == LayerType::Dense) {
      L.out_features = L.spec.units;
      std::string base = "layers." + std::to_string(i);
      w_index[i] = add_tensor(base + ".weight", {L.spec.units, uint32_t(features)}, uint32_t(features));
      if (L.spec.bias) b_index[i] = add_tensor(base + ".bias", {L.spec.units}, uint32_t(features));
      params_before = true;
    } else {
      L.out_features = features;
    }
    features = L.out_features;
    layers_.push_back(L);
  }

  params_ = device_->reserve("parameters", param_floats_ * 4);
  grads_ = device_->reserve("gradients", param_floats_ * 4);
  velocity_ = device_->reserve("sgd.velocity", param_floats_ * 4);
  stats_ = device_->reserve("input.mean_invstd", 8ull * spec_.channels);
  x_ = device_->reserve("input", 4ull * B * D);
  for (Layer& L : layers_) {
    if (L.spec.type == LayerType::Flatten) continue;  // an alias of its input
    std::string base = "layers." + std::to_string(L.index);
    L.out = device_->reserve(base + ".out", 4ull * B * L.out_features);
    L.dout = device_->reserve(base + ".grad", 4ull * B * L.out_features);
  }
  row_stats_ = device_->reserve("loss.rows", 8ull * B);
  images_ = upload_->reserve("batch.images", (uint64_t(B) * D + 3) / 4 * 4, opts_.slots);
  labels_ = upload_->reserve("batch.labels", 4ull * B, opts_.slots);
  step_params_ = upload_->reserve("step.params", sizeof(gpu::StepParams), opts_.slots);
  train_sums_ = readback_->reserve("metrics.train", sizeof(ops::MetricSums), opts_.slots);
  eval_sums_ = readback_->reserve("metrics.eval", sizeof(ops::MetricSums), opts_.slots);
  device_->commit();
  upload_->commit();
  readback_->commit();
  // Views reserved before commit carry the arena pointer; re-fetch nothing.

  View prev_out = x_, prev_dout;
  for (Layer& L : layers_) {
    L.in = prev_out;
    L.din = prev_dout;
    if (L.spec.type == LayerType::Flatten) {
      L.out = L.in;
      L.dout = L.din;
    }
    if (w_index[L.index] != SIZE_MAX) {
      const ParamTensor& t = tensors_[w_index[L.index]];
      L.w = params_.sub(t.offset * 4, t.count * 4, t.name);
      L.dw = grads_.sub(t.offset * 4, t.count * 4, t.name + ".grad");
    }
    if (b_index[L.index] != SIZE_MAX) {
      const ParamTensor& t = tensors_[b_index[L.index]];
      L.b = params_.sub(t.offset * 4, t.count * 4, t.name);
      L.db = grads_.sub(t.offset * 4, t.count * 4, t.name + ".grad");
    }
    prev_out = L.out;
    prev_dout = L.dout;
  }
  dlogits_ = layers_.back().dout;

  std::vector<float> ms(2 * spec_.channels);
  for (uint32_t c = 0; c < spec_.channels; ++c) {
    ms[c] = float(opts_.channel_mean[c]);
    ms[spec_.channels + c] = float(1.0 / std::max(opts_.channel_std[c], 1e-12));
  }
  gpu::upload(ctx_, stats_, ms.data(), ms.size() * 4);

  const uint32_t C = spec_.classes;
  const View& logits = layers_.back().out;
  train_ = std::make_unique<gpu::Program>(ctx_, "train");
  train_->set_params(step_params_);
  record_forward(*train_);
  ops::record_softmax_xent(*train_, B, C, logits, labels_, dlogits_, row_stats_, true, "loss");
  ops::record_metric_sums(*train_, B, row_stats_, train_sums_, "metrics");
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
    Layer& L = *it;
    std::string base = "layers." + std::to_string(L.index) + "." + layer_type_name(L.spec.type);
    if (L.spec.type == LayerType::Dense) {
      ops::DenseShape s{B, uint32_t(L.in_features), L.spec.units, L.spec.bias};
      ops::record_dense_backward_params(*train_, s, L.in, L.dout, L.dw, L.db, base + ".backward");
      if (L.need_dinput)
        ops::record_dense_backward_input(*train_, s, L.dout, L.w, L.din, base + ".backward.input");
    } else if (L.spec.type == LayerType::Relu && L.need_dinput) {
      ops::record_relu_backward(*train_, uint64_t(B) * L.out_features, L.out, L.dout, L.din,
                                base + ".backward");
    }
  }
  ops::record_sgd(*train_, param_floats_, opts_.sgd, params_, grads_, velocity_, "sgd");
  train_->host_reads(train_sums_);

  eval_ = std::make_unique<gpu::Program>(ctx_, "eval");
  eval_->set_params(step_params_);
  record_forward(*eval_);
  ops::record_softmax_xent(*eval_, B, C, logits, labels_, dlogits_, row_stats_, false, "loss");
  ops::record_metric_sums(*eval_, B, row_stats_, eval_sums_, "metrics");
  eval_->host_reads(eval_sums_);
}

void Model::record_forward(gpu::Program& p) {
  const uint32_t B = opts_.batch;
  ops::DecodeShape ds{B, spec_.channels, spec_.height, spec_.width};
  ops::record_decode(p, ds, images_, stats_, x_, "input.decode");
  for (const Layer& L : layers_) {
    std::string base = "layers." + std::to_string(L.index) + "." + layer_type_name(L.spec.type);
    if (L.spec.type == LayerType::Dense) {
      ops::DenseShape s{B, uint32_t(L.in_features), L.spec.units, L.spec.bias};
      ops::record_dense_forward(p, s, L.in, L.w, L.b, L.out, base + ".forward");
    } else if (L.spec.type == LayerType::Relu) {
      ops::record_relu_forward(p, uint64_t(B) * L.out_features, L.in, L.out, base + ".forward");
    }
  }
}

void Model::init_parameters(uint64_t seed) {
  std::vector<float> values(param_floats_, 0.0f);
  data::Rng rng(seed);
  for (const ParamTensor& t : tensors_) {
    // kaiming_uniform(a=sqrt(5)): gain sqrt(2/(1+5)) * sqrt(3/fan_in) = 1/sqrt(fan_in),
    // the same bound PyTorch uses for the bias.
    double bound = 1.0 / std::sqrt(double(std::max<uint32_t>(t.fan_in, 1)));
    for (uint64_t i = 0; i < t.count; ++i)
      values[t.offset + i] = float((2.0 * rng.uniform01() - 1.0) * bound);
  }
  upload_parameters(values);
  std::vector<float> zeros(param_floats_, 0.0f);
  gpu::upload(ctx_, grads_, zeros.data(), zeros.size() * 4);
  gpu::upload(ctx_, velocity_, zeros.data(), zeros.size() * 4);
}

std::vector<float> Model::download_parameters() const {
  std::vector<float> v(param_floats_);
  gpu::download(ctx_, params_, v.data(), v.size() * 4);
  return v;
}

void Model::upload_parameters(const std::vector<float>& values) {
  if (values.size() != param_floats_) throw Error("parameter count mismatch");
  gpu::upload(ctx_, params_, values.data(), values.size() * 4);
}

static std::string bytes_text(uint64_t b) {
  std::ostringstream s;
  if (b >= (1ull << 20))
    s << double(b) / double(1 << 20) << " MiB";
  else if (b >= 1024)
    s << double(b) / 1024.0 << " KiB";
  else
    s << b << " B";
  return s.str();
}

std::string Model::plan_text() const {
  std::ostringstream s;
  s.precision(3);
  for (const gpu::Program* p : {train_.get(), eval_.get()}) {
    s << "program " << p->name() << " (batch " << opts_.batch << ", recorded once per slot, "
      << opts_.slots << " slots):\n";
    for (const auto& d : p->dispatches()) {
      s << "  " << d.label << "  [" << d.kernel->name << "]\n";
      for (const auto& b : d.bindings)
        s << "      " << (b.access == gpu::Access::Read ? "reads  " : b.access == gpu::Access::Write ? "writes " : "updates")
          << " " << b.view.name << " (" << bytes_text(b.view.size) << ")\n";
    }
  }
  s << "memory:\n  parameters " << param_floats_ << " values, " << bytes_text(params_.size)
    << "; gradients " << bytes_text(grads_.size) << "; sgd state " << bytes_text(velocity_.size)
    << "\n  device arena " << bytes_text(device_->size()) << ", upload ring "
    << bytes_text(upload_->size()) << ", readback " << bytes_text(readback_->size()) << "\n";
  return s.str();
}

}  // namespace fovea::nn
