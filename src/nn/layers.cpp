#include "nn/layers.h"

#include "nn/block_layers.h"
#include "nn/dropout_layers.h"
#include "nn/pool_layers.h"
#include "ops/activation.h"
#include "ops/conv2d.h"
#include "ops/conv_transpose2d.h"
#include "ops/dense.h"
#include "ops/norm.h"
#include "ops/tensor.h"
#include "ops/weight_norm.h"
#include "util/error.h"

namespace fovea::nn {

namespace {

using gpu::View;

uint64_t count(const Io& io, const Shape& s) { return uint64_t(io.batch) * s.size(); }

// flatten, reshape: the same values under another shape.
class Alias final : public Layer {
 public:
  using Layer::Layer;
  bool aliases_input() const override { return true; }
  void forward(gpu::Program&, const Io&, bool) override {}
  void backward(gpu::Program&, const Io&, bool) override {}  // the model routes dout to the input
};

// PyTorch's spectral_norm on a layer's weight viewed as [rows, cols]: the
// stored parameter is weight_orig, u and v persist as state; in training each
// forward runs the power iteration, evaluation uses them as they are.
class Spectral {
 public:
  static std::vector<StateDecl> state(uint32_t rows, uint32_t cols) {
    return {{"weight_u", {rows}, 0, false, false, 0, true},
            {"weight_v", {cols}, 0, true, false, ops::spectral_v_offset(rows) - rows, true}};
  }
  void reserve(gpu::Arena& device, const std::string& label, uint32_t rows, uint32_t cols,
               uint32_t iterations) {
    rows_ = rows, cols_ = cols, iterations_ = iterations;
    w_sn_ = device.reserve(label + ".weight_sn", 4ull * rows * cols);
    dw_sn_ = device.reserve(label + ".weight_sn.grad", 4ull * rows * cols);
    sigma_ = device.reserve(label + ".sigma", 4);
  }
  const View& weight() const { return w_sn_; }
  const View& weight_grad() const { return dw_sn_; }
  void forward(gpu::Program& p, const Io& io, bool training) {
    ops::record_spectral_norm_forward(p, rows_, cols_, iterations_, training, io.params[0], io.state_span,
                                      w_sn_, sigma_, io.label + ".spectral_norm");
  }
  // dL/dW_sn (already in weight_grad()) -> dL/dweight_orig.
  void backward(gpu::Program& p, const Io& io) {
    ops::record_spectral_norm_backward(p, rows_, cols_, io.params[0], io.state_span, sigma_, dw_sn_,
                                       io.grads[0], io.label + ".spectral_norm.backward");
  }

 private:
  uint32_t rows_ = 0, cols_ = 0, iterations_ = 1;
  View w_sn_, dw_sn_, sigma_;
};

// y = x W^T + b (PyTorch's Linear)
class Dense final : public Layer {
 public:
  using Layer::Layer;
  std::vector<ParamDecl> params(const std::vector<Shape>& in) const override {
    const uint32_t fan_in = uint32_t(in[0].size());
    std::vector<ParamDecl> d = {
        {spec_.spectral_norm ? "weight_orig" : "weight", {spec_.units, fan_in}, fan_in, Init::Uniform}};
    if (spec_.bias) d.push_back({"bias", {spec_.units}, fan_in, Init::Uniform});
    return d;
  }
  std::vector<StateDecl> state(const std::vector<Shape>& in) const override {
    if (!spec_.spectral_norm) return {};
    return Spectral::state(spec_.units, uint32_t(in[0].size()));
  }
  void reserve(gpu::Arena& device, const Io& io) override {
    if (spec_.spectral_norm)
      sn_.reserve(device, io.label, spec_.units, uint32_t(io.in_shapes[0].size()), spec_.power_iterations);
    dc_.reserve(device, io, uint64_t(spec_.units) * io.in_shapes[0].size(), spec_.drop_connect);
  }
  ops::DenseShape shape(const Io& io) const {
    return {io.batch, uint32_t(io.in_shapes[0].size()), spec_.units, spec_.bias};
  }
  // W, or W / sigma; DropConnect then masks it in training.
  const View& weight(const Io& io) const { return spec_.spectral_norm ? sn_.weight() : io.params[0]; }
  void forward(gpu::Program& p, const Io& io, bool training) override {
    if (spec_.spectral_norm) sn_.forward(p, io, training);
    if (training) dc_.forward(p, io, weight(io));
    ops::record_dense_forward(p, shape(io), io.in[0], dc_.weight(weight(io), training),
                              spec_.bias ? io.params[1] : View{}, io.out, io.label + ".forward");
  }
  void backward(gpu::Program& p, const Io& io, bool training) override {
    const View& dw = spec_.spectral_norm ? sn_.weight_grad() : io.grads[0];
    if (io.param_grads) {
      ops::record_dense_backward_params(p, shape(io), io.in[0], io.dout, dc_.weight_grad(dw, training),
                                        spec_.bias ? io.grads[1] : View{}, io.label + ".backward");
      dc_.backward(p, io, dw, training);
      if (spec_.spectral_norm) sn_.backward(p, io);
    }
    if (io.din[0].valid())
      ops::record_dense_backward_input(p, shape(io), io.dout, dc_.weight(weight(io), training), io.din[0],
                                       io.label + ".backward.input");
  }

 private:
  Spectral sn_;
  DropConnect dc_;
};

class Conv2d final : public Layer {
 public:
  using Layer::Layer;
  std::vector<ParamDecl> params(const std::vector<Shape>& in) const override {
    const uint32_t cg = in[0].c / spec_.groups;
    const uint32_t fan_in = cg * spec_.kernel[0] * spec_.kernel[1];
    std::vector<ParamDecl> d = {{spec_.spectral_norm ? "weight_orig" : "weight",
                                 {spec_.out_channels, cg, spec_.kernel[0], spec_.kernel[1]}, fan_in,
                                 Init::Uniform}};
    if (spec_.bias) d.push_back({"bias", {spec_.out_channels}, fan_in, Init::Uniform});
    return d;
  }
  std::vector<StateDecl> state(const std::vector<Shape>& in) const override {
    if (!spec_.spectral_norm) return {};
    return Spectral::state(spec_.out_channels, in[0].c / spec_.groups * spec_.kernel[0] * spec_.kernel[1]);
  }
  ops::Conv2dShape shape(const Io& io) const {
    ops::Conv2dShape s;
    const Shape& in = io.in_shapes[0];
    s.batch = io.batch, s.in_channels = in.c, s.height = in.h, s.width = in.w;
    s.out_channels = spec_.out_channels, s.kh = spec_.kernel[0], s.kw = spec_.kernel[1];
    s.sh = spec_.stride[0], s.sw = spec_.stride[1], s.ph = spec_.padding[0], s.pw = spec_.padding[1];
    s.dh = spec_.dilation[0], s.dw = spec_.dilation[1], s.groups = spec_.groups;
    return s;
  }
  void reserve(gpu::Arena& device, const Io& io) override {
    const auto s = shape(io);
    s.validate(io.label);
    // The implicit-GEMM input gradient needs no columns. Otherwise backward()
    // reads the columns for the weight gradient before it writes the input
    // gradient's columns: one buffer serves both (the recorder puts the
    // write-after-read barrier between them), fp32-sized for dcols.
    const bool dcols = io.din[0].valid() && !ops::conv2d_direct_input_gradient(device.context(), s);
    cols_ = device.reserve(io.label + ".cols",
                           dcols ? s.cols_floats() * 4 : ops::conv2d_cols_bytes(device.context(), s));
    if (dcols) dcols_ = cols_;
    if (spec_.spectral_norm) sn_.reserve(device, io.label, spec_.out_channels, fan_in(io), spec_.power_iterations);
    if (spec_.weight_standardization) {
      const uint64_t n = 4ull * spec_.out_channels * fan_in(io);
      w_hat_ = device.reserve(io.label + ".weight_standardized", n);
      dw_hat_ = device.reserve(io.label + ".weight_standardized.grad", n);
      ws_saved_ = device.reserve(io.label + ".weight_standardized.stats", 8ull * spec_.out_channels);
    }
    dc_.reserve(device, io, uint64_t(spec_.out_channels) * fan_in(io), spec_.drop_connect);
  }
  // W, W standardised per filter, or W / sigma; DropConnect then masks it in training.
  const View& weight(const Io& io) const {
    if (spec_.spectral_norm) return sn_.weight();
    return spec_.weight_standardization ? w_hat_ : io.params[0];
  }
  uint32_t fan_in(const Io& io) const {
    return io.in_shapes[0].c / spec_.groups * spec_.kernel[0] * spec_.kernel[1];
  }
  void forward(gpu::Program& p, const Io& io, bool training) override {
    if (spec_.spectral_norm) sn_.forward(p, io, training);
    if (spec_.weight_standardization)
      ops::record_weight_standardize_forward(p, spec_.out_channels, fan_in(io), ops::kWeightStandardizeEps,
                                             io.params[0], w_hat_, ws_saved_, io.label + ".standardize");
    if (training) dc_.forward(p, io, weight(io));
    ops::record_conv2d_forward(p, shape(io), io.in[0], dc_.weight(weight(io), training),
                               spec_.bias ? io.params[1] : View{}, io.out, cols_, io.label + ".forward");
  }
  void backward(gpu::Program& p, const Io& io, bool training) override {
    // With standardisation the convolution's weight gradient is dL/dW_hat,
    // mapped back to dL/dW through the standardisation (after DropConnect's
    // mask, when it is on).
    const View& dw = spec_.spectral_norm ? sn_.weight_grad()
                     : spec_.weight_standardization ? dw_hat_ : io.grads[0];
    if (io.param_grads) {
      ops::record_conv2d_backward_params(p, shape(io), cols_, io.dout, dc_.weight_grad(dw, training),
                                         spec_.bias ? io.grads[1] : View{}, io.label + ".backward");
      dc_.backward(p, io, dw, training);
      if (spec_.spectral_norm) sn_.backward(p, io);
      if (spec_.weight_standardization)
        ops::record_weight_standardize_backward(p, spec_.out_channels, fan_in(io), w_hat_, ws_saved_,
                                                dw_hat_, io.grads[0], io.label + ".standardize.backward");
    }
    if (io.din[0].valid())
      ops::record_conv2d_backward_input(p, shape(io), io.dout, dc_.weight(weight(io), training), io.din[0], dcols_,
                                        io.label + ".backward.input");
  }

 private:
  View cols_, dcols_, w_hat_, dw_hat_, ws_saved_;
  Spectral sn_;
  DropConnect dc_;
};

// relu, leaky_relu, elu, selu, gelu, tanh, sigmoid, softplus: element-wise.
class ActivationLayer final : public Layer {
 public:
  explicit ActivationLayer(const LayerSpec& spec) : Layer(spec) {
    switch (spec.type) {
      case LayerType::Relu: kind_ = ops::Activation::Relu; break;
      case LayerType::LeakyRelu: kind_ = ops::Activation::LeakyRelu; break;
      case LayerType::Elu: kind_ = ops::Activation::Elu; break;
      case LayerType::Selu: kind_ = ops::Activation::Selu; break;
      case LayerType::Gelu: kind_ = ops::Activation::Gelu; break;
      case LayerType::Tanh: kind_ = ops::Activation::Tanh; break;
      case LayerType::Sigmoid: kind_ = ops::Activation::Sigmoid; break;
      case LayerType::Softplus: kind_ = ops::Activation::Softplus; break;
      default: throw Error("not an activation");
    }
    params_.slope = spec.negative_slope;
    params_.alpha = spec.alpha;
    params_.beta = spec.beta;
    params_.threshold = spec.threshold;
  }
  void forward(gpu::Program& p, const Io& io, bool) override {
    ops::record_activation_forward(p, kind_, params_, count(io, io.out_shape), io.in[0], io.out,
                                   io.label + ".forward");
  }
  // relu, leaky_relu: f(x) = x f'(x0) with the pattern x0 of the base
  // weights, which is f's backward applied to x; its gradient the same.
  bool has_pattern() const override {
    return kind_ == ops::Activation::Relu || kind_ == ops::Activation::LeakyRelu;
  }
  void reserve(gpu::Arena& device, const Io& io) override {
    if (io.probe && has_pattern()) pattern_ = device.reserve(io.label + ".pattern", 4 * count(io, io.out_shape));
  }
  void keep_pattern(gpu::Program& p, const Io& io) override {
    ops::record_copy(p, count(io, io.out_shape), io.in[0], pattern_, io.label + ".keep_pattern");
  }
  void forward_frozen(gpu::Program& p, const Io& io) override {
    ops::record_activation_backward(p, kind_, params_, count(io, io.out_shape), pattern_, View{}, io.in[0],
                                    io.out, io.label + ".forward_frozen");
  }
  void backward_frozen(gpu::Program& p, const Io& io) override {
    if (!io.din[0].valid()) return;
    ops::record_activation_backward(p, kind_, params_, count(io, io.out_shape), pattern_, View{}, io.dout,
                                    io.din[0], io.label + ".backward_frozen");
  }
  void backward(gpu::Program& p, const Io& io, bool) override {
    if (!io.din[0].valid()) return;
    // tanh and sigmoid differentiate through their output, the rest through the input.
    const bool from_y = ops::activation_backward_uses_output(kind_);
    ops::record_activation_backward(p, kind_, params_, count(io, io.out_shape),
                                    from_y ? View{} : io.in[0], from_y ? io.out : View{}, io.dout,
                                    io.din[0], io.label + ".backward");
  }

 private:
  ops::Activation kind_ = ops::Activation::Relu;
  ops::ActivationParams params_;
  View pattern_;  // the base forward's input (probe models)
};

// PyTorch's ConvTranspose2d; weight [C_in, C_out/groups, KH, KW].
class ConvTranspose2d final : public Layer {
 public:
  using Layer::Layer;
  std::vector<ParamDecl> params(const std::vector<Shape>& in) const override {
    const uint32_t og = spec_.out_channels / spec_.groups;
    // PyTorch's fan_in for this weight layout is weight.size(1) * KH * KW.
    const uint32_t fan_in = og * spec_.kernel[0] * spec_.kernel[1];
    std::vector<ParamDecl> d = {
        {"weight", {in[0].c, og, spec_.kernel[0], spec_.kernel[1]}, fan_in, Init::Uniform}};
    if (spec_.bias) d.push_back({"bias", {spec_.out_channels}, fan_in, Init::Uniform});
    return d;
  }
  ops::ConvTranspose2dShape shape(const Io& io) const {
    ops::ConvTranspose2dShape s;
    const Shape& in = io.in_shapes[0];
    s.batch = io.batch, s.in_channels = in.c, s.height = in.h, s.width = in.w;
    s.out_channels = spec_.out_channels, s.kh = spec_.kernel[0], s.kw = spec_.kernel[1];
    s.sh = spec_.stride[0], s.sw = spec_.stride[1], s.ph = spec_.padding[0], s.pw = spec_.padding[1];
    s.oph = spec_.output_padding[0], s.opw = spec_.output_padding[1];
    s.dh = spec_.dilation[0], s.dw = spec_.dilation[1], s.groups = spec_.groups;
    return s;
  }
  void reserve(gpu::Arena& device, const Io& io) override {
    const auto s = shape(io);
    s.validate(io.label);
    cols_ = device.reserve(io.label + ".cols", s.cols_floats() * 4);  // forward and backward share it
  }
  void forward(gpu::Program& p, const Io& io, bool) override {
    ops::record_conv_transpose2d_forward(p, shape(io), io.in[0], io.params[0],
                                         spec_.bias ? io.params[1] : View{}, io.out, cols_,
                                         io.label + ".forward");
  }
  void backward(gpu::Program& p, const Io& io, bool) override {
    const auto s = shape(io);
    ops::record_conv_transpose2d_backward_cols(p, s, io.dout, cols_, io.label + ".backward.cols");
    if (io.param_grads)
      ops::record_conv_transpose2d_backward_params(p, s, io.in[0], cols_, io.dout, io.grads[0],
                                                   spec_.bias ? io.grads[1] : View{}, io.label + ".backward");
    if (io.din[0].valid())
      ops::record_conv_transpose2d_backward_input(p, s, cols_, io.params[0], io.din[0],
                                                  io.label + ".backward.input");
  }

 private:
  View cols_;
};

// batchnorm2d/1d, layernorm, instancenorm2d, groupnorm. gamma and beta are
// packed [2, P] (weight, bias) so the ops bind them as one view; BatchNorm
// keeps running_mean|running_var packed as state.
class Norm final : public Layer {
 public:
  using Layer::Layer;
  bool batch_norm() const {
    return spec_.type == LayerType::BatchNorm2d || spec_.type == LayerType::BatchNorm1d;
  }
  std::vector<ParamDecl> params(const std::vector<Shape>& in) const override {
    if (!spec_.affine) return {};
    std::vector<uint32_t> shape = {in[0].c};
    if (spec_.type == LayerType::LayerNorm)
      shape = in[0].flat() ? std::vector<uint32_t>{in[0].c} : std::vector<uint32_t>{in[0].c, in[0].h, in[0].w};
    return {{"weight", shape, 0, Init::Ones}, {"bias", shape, 0, Init::Zeros, true}};
  }
  std::vector<StateDecl> state(const std::vector<Shape>& in) const override {
    if (!batch_norm()) return {};
    return {{"running_mean", {in[0].c}, 0.0f},
            {"running_var", {in[0].c}, 1.0f, true},
            {"num_batches_tracked", {}, 0.0f, false, true}};
  }
  ops::NormShape shape(const Io& io) const {
    const Shape& in = io.in_shapes[0];
    return {io.batch, in.c, in.h, in.w};
  }
  void reserve(gpu::Arena& device, const Io& io) override {
    const Shape& in = io.in_shapes[0];
    uint64_t stats = in.c;  // BatchNorm: per channel
    if (spec_.type == LayerType::LayerNorm) stats = io.batch;
    if (spec_.type == LayerType::InstanceNorm2d) stats = uint64_t(io.batch) * in.c;
    if (spec_.type == LayerType::GroupNorm) stats = uint64_t(io.batch) * spec_.num_groups;
    saved_ = device.reserve(io.label + ".saved", 8 * stats);
    // The backward always produces dx; a layer reading the model input
    // writes it to a buffer nobody reads.
    if (!io.din[0].valid()) unused_dx_ = device.reserve(io.label + ".dx_unused", 4 * count(io, in));
    // A frozen layer's gamma and beta gradients go nowhere the optimizer reads.
    uint64_t param_floats = 0;  // weight and bias, packed
    for (const ParamDecl& d : params(io.in_shapes)) {
      uint64_t n = 1;
      for (uint32_t v : d.shape) n *= v;
      param_floats += n;
    }
    if ((!io.param_grads || io.attack) && param_floats > 0)
      unused_grads_ = device.reserve(io.label + ".grads_unused", 4 * param_floats);
  }
  void forward(gpu::Program& p, const Io& io, bool training) override {
    const auto s = shape(io);
    const std::string l = io.label + ".forward";
    switch (spec_.type) {
      case LayerType::BatchNorm2d:
      case LayerType::BatchNorm1d:
        if (training && io.sync_partials.valid()) {
          const uint32_t K = ops::record_batchnorm_partials(p, s, false, io.in[0], io.in[0], io.sync_partials, l);
          p.mark_host_exchange(io.sync_partials, io.index, K);
          ops::record_batchnorm_forward_synced(p, s, spec_.eps, spec_.momentum, io.in[0],
                                               io.param_span, io.out, saved_, io.state_span, io.sync_summed, l);
        } else if (training) {
          ops::record_batchnorm_forward_train(p, s, spec_.eps, spec_.momentum, io.in[0], io.param_span,
                                              io.out, saved_, io.state_span, l);
        } else {
          ops::record_batchnorm_forward_eval(p, s, spec_.eps, io.in[0], io.param_span, io.state_span,
                                             io.out, l);
        }
        break;
      case LayerType::LayerNorm:
        ops::record_layernorm_forward(p, s, spec_.eps, io.in[0], io.param_span, io.out, saved_, l);
        break;
      case LayerType::InstanceNorm2d:
        ops::record_instancenorm_forward(p, s, spec_.eps, io.in[0], io.param_span, io.out, saved_, l);
        break;
      default:
        ops::record_groupnorm_forward(p, s, spec_.num_groups, spec_.eps, io.in[0], io.param_span,
                                      io.out, saved_, l);
    }
  }
  void backward(gpu::Program& p, const Io& io, bool training) override {
    const auto s = shape(io);
    const View& dx = io.din[0].valid() ? io.din[0] : unused_dx_;
    const std::string l = io.label + ".backward";
    const View& dparams = io.param_grads ? io.grad_span : unused_grads_;
    switch (spec_.type) {
      case LayerType::BatchNorm2d:
      case LayerType::BatchNorm1d:
        if (training && io.sync_partials.valid()) {
          const uint32_t K = ops::record_batchnorm_partials(p, s, true, io.in[0], io.dout, io.sync_partials, l);
          p.mark_host_exchange(io.sync_partials, io.index, K);
          ops::record_batchnorm_backward_synced(p, s, io.in[0], io.dout, io.param_span, saved_, dx,
                                                dparams, io.sync_summed, K, l);
        } else if (training) {
          ops::record_batchnorm_backward(p, s, io.in[0], io.dout, io.param_span, saved_, dx, dparams, l);
        } else {
          ops::record_batchnorm_backward_eval(p, s, spec_.eps, io.in[0], io.dout, io.param_span,
                                              io.state_span, dx, dparams, l);
        }
        break;
      case LayerType::LayerNorm:
        ops::record_layernorm_backward(p, s, io.in[0], io.dout, io.param_span, saved_, dx, dparams, l);
        break;
      case LayerType::InstanceNorm2d:
        ops::record_instancenorm_backward(p, s, io.in[0], io.dout, io.param_span, saved_, dx,
                                          dparams, l);
        break;
      default:
        ops::record_groupnorm_backward(p, s, spec_.num_groups, io.in[0], io.dout, io.param_span, saved_,
                                       dx, dparams, l);
    }
  }

 private:
  View saved_, unused_dx_, unused_grads_;
};

// y = x_0 + x_1 + ...; each input's gradient is dout. With stochastic
// depth in training the last input (the residual branch) is masked per
// sample: y = x_0 + ... + keep_n x_last / (1 - p_l), and so is its gradient.
class Add final : public Layer {
 public:
  using Layer::Layer;
  void forward(gpu::Program& p, const Io& io, bool training) override {
    const uint64_t n = count(io, io.out_shape);
    const size_t last = io.in.size() - 1;
    const bool drop = training && spec_.stochastic_depth_p > 0;
    if (!drop || last > 1) ops::record_add(p, n, io.in[0], io.in[1], io.out, io.label + ".forward");
    for (size_t i = 2; i < io.in.size() - (drop ? 1 : 0); ++i)
      ops::record_add(p, n, io.out, io.in[i], io.out, io.label + ".forward." + std::to_string(i));
    if (drop)
      ops::record_dropout_add_forward(p, stochastic_depth_mask(spec_, io), n, last > 1 ? io.out : io.in[0],
                                      io.in[last], io.out, io.label + ".forward.stochastic_depth");
  }
  void backward(gpu::Program& p, const Io& io, bool training) override {
    for (size_t i = 0; i < io.din.size(); ++i) {
      if (!io.din[i].valid()) continue;
      const std::string label = io.label + ".backward." + std::to_string(i);
      if (i + 1 == io.din.size() && spec_.stochastic_depth_p > 0 && training)
        ops::record_dropout_backward(p, stochastic_depth_mask(spec_, io), count(io, io.out_shape), io.dout,
                                     io.din[i], label);
      else
        ops::record_copy(p, count(io, io.out_shape), io.dout, io.din[i], label);
    }
  }
};

// Channel concatenation: input i lands at its channel offset.
class Concat final : public Layer {
 public:
  using Layer::Layer;
  void forward(gpu::Program& p, const Io& io, bool) override {
    uint32_t off = 0;
    for (size_t i = 0; i < io.in.size(); ++i) {
      const Shape& s = io.in_shapes[i];
      ops::ChannelSlice cs{io.batch, s.c, io.out_shape.c, s.h * s.w, off};
      ops::record_channel_copy_into(p, cs, io.in[i], io.out, io.label + ".forward." + std::to_string(i));
      off += s.c;
    }
  }
  void backward(gpu::Program& p, const Io& io, bool) override {
    uint32_t off = 0;
    for (size_t i = 0; i < io.in.size(); ++i) {
      const Shape& s = io.in_shapes[i];
      ops::ChannelSlice cs{io.batch, s.c, io.out_shape.c, s.h * s.w, off};
      if (io.din[i].valid())
        ops::record_channel_copy_from(p, cs, io.dout, io.din[i], io.label + ".backward." + std::to_string(i));
      off += s.c;
    }
  }
};

}  // namespace

std::unique_ptr<Layer> make_layer(const LayerSpec& spec) {
  switch (spec.type) {
    case LayerType::Flatten:
    case LayerType::Reshape:
      return std::make_unique<Alias>(spec);
    case LayerType::Dense:
      return std::make_unique<Dense>(spec);
    case LayerType::Conv2d:
      return std::make_unique<Conv2d>(spec);
    case LayerType::Relu:
    case LayerType::LeakyRelu:
    case LayerType::Elu:
    case LayerType::Selu:
    case LayerType::Gelu:
    case LayerType::Tanh:
    case LayerType::Sigmoid:
    case LayerType::Softplus:
      return std::make_unique<ActivationLayer>(spec);
    case LayerType::ConvTranspose2d:
      return std::make_unique<ConvTranspose2d>(spec);
    case LayerType::MaxPool2d:
    case LayerType::AvgPool2d:
    case LayerType::MaxPoolDropout:
    case LayerType::AvgPoolDropout:
    case LayerType::MaxDrop:
    case LayerType::FractionalMaxPool2d:
    case LayerType::GlobalAvgPool2d:
      return make_pool_layer(spec);
    case LayerType::BatchNorm2d:
    case LayerType::BatchNorm1d:
    case LayerType::LayerNorm:
    case LayerType::InstanceNorm2d:
    case LayerType::GroupNorm:
      return std::make_unique<Norm>(spec);
    case LayerType::Add:
      return std::make_unique<Add>(spec);
    case LayerType::Concat:
      return std::make_unique<Concat>(spec);
    case LayerType::ChannelShuffle:
    case LayerType::SqueezeExcitation:
      return make_block_layer(spec);
    case LayerType::Dropout:
    case LayerType::Dropout2d:
    case LayerType::GaussianDropout:
    case LayerType::AlphaDropout:
      return make_dropout_layer(spec);
  }
  throw Error(std::string("unknown layer type ") + layer_type_name(spec.type));
}

}  // namespace fovea::nn
