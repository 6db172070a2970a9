#include "nn/dropout_layers.h"

#include "ops/tensor.h"

namespace fovea::nn {

namespace {

using gpu::View;

// dropout, dropout2d (one draw per H x W plane), gaussian_dropout,
// alpha_dropout. Evaluation, and p = 0, copy the input.
class DropoutLayer final : public Layer {
 public:
  using Layer::Layer;
  ops::DropoutMask mask(const Io& io) const {
    ops::DropoutMask m;
    m.kind = spec_.type == LayerType::GaussianDropout ? ops::DropoutKind::Gaussian
             : spec_.type == LayerType::AlphaDropout  ? ops::DropoutKind::Alpha
                                                      : ops::DropoutKind::Dropout;
    m.p = spec_.p;
    m.group = spec_.type == LayerType::Dropout2d ? io.in_shapes[0].h * io.in_shapes[0].w : 1;
    m.stream = io.index;
    m.row_draws = uint32_t(io.out_shape.size() / m.group);
    return m;
  }
  uint64_t count(const Io& io) const { return uint64_t(io.batch) * io.out_shape.size(); }
  void forward(gpu::Program& p, const Io& io, bool training) override {
    if (training && spec_.p > 0)
      ops::record_dropout_forward(p, mask(io), count(io), io.in[0], io.out, io.label + ".forward");
    else
      ops::record_copy(p, count(io), io.in[0], io.out, io.label + ".forward");
  }
  void backward(gpu::Program& p, const Io& io, bool training) override {
    if (!io.din[0].valid()) return;
    if (training && spec_.p > 0)
      ops::record_dropout_backward(p, mask(io), count(io), io.dout, io.din[0], io.label + ".backward");
    else
      ops::record_copy(p, count(io), io.dout, io.din[0], io.label + ".backward");
  }
};

}  // namespace

std::unique_ptr<Layer> make_dropout_layer(const LayerSpec& spec) { return std::make_unique<DropoutLayer>(spec); }

ops::DropoutMask stochastic_depth_mask(const LayerSpec& spec, const Io& io) {
  return {ops::DropoutKind::Dropout, spec.stochastic_depth_p, uint32_t(io.out_shape.size()), io.index, 0, 1};
}

void DropConnect::reserve(gpu::Arena& device, const Io& io, uint64_t count, float p) {
  mask_.p = p;
  mask_.stream = io.index;
  count_ = count;
  if (!active()) return;
  w_d_ = device.reserve(io.label + ".weight_dropped", 4 * count);
  dw_d_ = device.reserve(io.label + ".weight_dropped.grad", 4 * count);
}

void DropConnect::forward(gpu::Program& p, const Io& io, const View& w) const {
  if (active()) ops::record_dropout_forward(p, mask_, count_, w, w_d_, io.label + ".drop_connect");
}

void DropConnect::backward(gpu::Program& p, const Io& io, const View& dw, bool training) const {
  if (active() && training) ops::record_dropout_backward(p, mask_, count_, dw_d_, dw, io.label + ".drop_connect.backward");
}

}  // namespace fovea::nn
