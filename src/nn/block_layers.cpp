#include "nn/block_layers.h"

#include "ops/activation.h"
#include "ops/channel_scale.h"
#include "ops/channel_shuffle.h"
#include "ops/dense.h"
#include "ops/pool.h"
#include "ops/tensor.h"
#include "util/error.h"

namespace fovea::nn {
namespace {

using gpu::View;

// y = x with its channels shuffled across `groups` (a permutation; the
// backward is the inverse permutation).
class ChannelShuffle final : public Layer {
 public:
  using Layer::Layer;
  ops::ChannelShuffleShape shape(const Io& io) const {
    const Shape& in = io.in_shapes[0];
    return {io.batch, in.c, in.h * in.w, spec_.groups};
  }
  void forward(gpu::Program& p, const Io& io, bool) override {
    ops::record_channel_shuffle_forward(p, shape(io), io.in[0], io.out, io.label + ".forward");
  }
  void backward(gpu::Program& p, const Io& io, bool) override {
    if (io.din[0].valid())
      ops::record_channel_shuffle_backward(p, shape(io), io.dout, io.din[0], io.label + ".backward");
  }
};

// pooled = mean over H x W; h = fc1(pooled); a = relu(h); z = fc2(a);
// s = sigmoid(z); y = x s per (row, channel). fc1 and fc2 are dense layers
// stored as torchvision's 1x1 convolutions ([S, C, 1, 1], [C, S, 1, 1]).
// dx = dy s + the pooled path's gradient, dy x summed over each plane.
class SqueezeExcitation final : public Layer {
 public:
  using Layer::Layer;
  std::vector<ParamDecl> params(const std::vector<Shape>& in) const override {
    const uint32_t C = in[0].c, S = spec_.squeeze;
    return {{"fc1.weight", {S, C, 1, 1}, C, Init::Uniform},
            {"fc1.bias", {S}, C, Init::Uniform},
            {"fc2.weight", {C, S, 1, 1}, S, Init::Uniform},
            {"fc2.bias", {C}, S, Init::Uniform}};
  }
  void reserve(gpu::Arena& device, const Io& io) override {
    const uint64_t bc = 4ull * io.batch * io.in_shapes[0].c, bs = 4ull * io.batch * spec_.squeeze;
    const std::string& l = io.label;
    pooled_ = device.reserve(l + ".pooled", bc);
    h_ = device.reserve(l + ".fc1", bs);
    a_ = device.reserve(l + ".relu", bs);
    z_ = device.reserve(l + ".fc2", bc);
    s_ = device.reserve(l + ".gate", bc);
    ds_ = device.reserve(l + ".gate.grad", bc);
    dz_ = device.reserve(l + ".fc2.grad", bc);
    da_ = device.reserve(l + ".relu.grad", bs);
    dh_ = device.reserve(l + ".fc1.grad", bs);
    if (io.din[0].valid()) {
      dpooled_ = device.reserve(l + ".pooled.grad", bc);
      dx_pooled_ = device.reserve(l + ".dx_pooled", 4ull * io.batch * io.in_shapes[0].size());
    }
  }
  void forward(gpu::Program& p, const Io& io, bool) override {
    const Shape& in = io.in_shapes[0];
    const uint32_t B = io.batch, C = in.c, S = spec_.squeeze;
    const std::string& l = io.label;
    ops::record_global_avgpool_forward(p, B, C, in.h * in.w, io.in[0], pooled_, l + ".squeeze");
    ops::record_dense_forward(p, {B, C, S, true}, pooled_, io.params[0], io.params[1], h_, l + ".fc1");
    ops::record_activation_forward(p, ops::Activation::Relu, {}, uint64_t(B) * S, h_, a_, l + ".relu");
    ops::record_dense_forward(p, {B, S, C, true}, a_, io.params[2], io.params[3], z_, l + ".fc2");
    ops::record_activation_forward(p, ops::Activation::Sigmoid, {}, uint64_t(B) * C, z_, s_, l + ".sigmoid");
    ops::record_channel_scale_forward(p, {B, C, in.h * in.w}, io.in[0], s_, io.out, l + ".scale");
  }
  void backward(gpu::Program& p, const Io& io, bool) override {
    if (!io.din[0].valid() && !io.param_grads) return;
    const Shape& in = io.in_shapes[0];
    const uint32_t B = io.batch, C = in.c, S = spec_.squeeze;
    const std::string l = io.label + ".backward";
    ops::record_channel_scale_backward(p, {B, C, in.h * in.w}, io.in[0], s_, io.dout, io.din[0], ds_, l + ".scale");
    ops::record_activation_backward(p, ops::Activation::Sigmoid, {}, uint64_t(B) * C, View{}, s_, ds_, dz_,
                                    l + ".sigmoid");
    if (io.param_grads)
      ops::record_dense_backward_params(p, {B, S, C, true}, a_, dz_, io.grads[2], io.grads[3], l + ".fc2");
    ops::record_dense_backward_input(p, {B, S, C, true}, dz_, io.params[2], da_, l + ".fc2.input");
    ops::record_activation_backward(p, ops::Activation::Relu, {}, uint64_t(B) * S, h_, View{}, da_, dh_,
                                    l + ".relu");
    if (io.param_grads)
      ops::record_dense_backward_params(p, {B, C, S, true}, pooled_, dh_, io.grads[0], io.grads[1], l + ".fc1");
    if (!io.din[0].valid()) return;
    ops::record_dense_backward_input(p, {B, C, S, true}, dh_, io.params[0], dpooled_, l + ".fc1.input");
    ops::record_global_avgpool_backward(p, B, C, in.h * in.w, dpooled_, dx_pooled_, l + ".squeeze");
    ops::record_add(p, uint64_t(B) * in.size(), io.din[0], dx_pooled_, io.din[0], l + ".sum");
  }

 private:
  View pooled_, h_, a_, z_, s_, ds_, dz_, da_, dh_, dpooled_, dx_pooled_;
};

}  // namespace

std::unique_ptr<Layer> make_block_layer(const LayerSpec& spec) {
  switch (spec.type) {
    case LayerType::ChannelShuffle:
      return std::make_unique<ChannelShuffle>(spec);
    case LayerType::SqueezeExcitation:
      return std::make_unique<SqueezeExcitation>(spec);
    default:
      throw Error(std::string("internal: ") + layer_type_name(spec.type) + " is not a block layer");
  }
}

}  // namespace fovea::nn
