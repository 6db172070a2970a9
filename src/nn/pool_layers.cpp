// The pooling family's layers (nn/pool_layers.h).
#include "nn/pool_layers.h"

#include "ops/fractional_pool.h"
#include "ops/max_drop.h"
#include "ops/pool.h"
#include "ops/tensor.h"
#include "util/error.h"

namespace fovea::nn {

namespace {

using gpu::View;

uint64_t count(const Io& io, const Shape& s) { return uint64_t(io.batch) * s.size(); }

// maxpool2d, avgpool2d and their pooling dropouts (training only: evaluation
// records the plain pooling); max pooling keeps its argmax from forward to backward.
class Pool2d final : public Layer {
 public:
  using Layer::Layer;
  ops::Pool2dShape shape(const Io& io) const {
    ops::Pool2dShape s;
    const Shape& in = io.in_shapes[0];
    s.batch = io.batch, s.channels = in.c, s.height = in.h, s.width = in.w;
    s.kh = spec_.kernel[0], s.kw = spec_.kernel[1], s.sh = spec_.stride[0], s.sw = spec_.stride[1];
    s.ph = spec_.padding[0], s.pw = spec_.padding[1], s.dh = spec_.dilation[0], s.dw = spec_.dilation[1];
    return s;
  }
  bool is_max() const { return spec_.type == LayerType::MaxPool2d || spec_.type == LayerType::MaxPoolDropout; }
  bool dropout() const {
    return spec_.type == LayerType::MaxPoolDropout || spec_.type == LayerType::AvgPoolDropout;
  }
  void reserve(gpu::Arena& device, const Io& io) override {
    if (is_max()) argmax_ = device.reserve(io.label + ".argmax", 4 * count(io, io.out_shape));
  }
  // Max pooling: the base forward's argmax stays; the perturbed forward
  // gathers through it, the backward scatters through it as always.
  bool has_pattern() const override { return is_max(); }
  void forward_frozen(gpu::Program& p, const Io& io) override {
    ops::record_maxpool2d_gather(p, shape(io), io.in[0], argmax_, io.out, io.label + ".forward_frozen");
  }
  void backward_frozen(gpu::Program& p, const Io& io) override { backward(p, io, false); }
  void forward(gpu::Program& p, const Io& io, bool training) override {
    const std::string l = io.label + ".forward";
    const ops::PoolDropout drop{spec_.p, io.index};
    if (dropout() && training && is_max())
      ops::record_maxpool_dropout_forward(p, shape(io), drop, io.in[0], io.out, argmax_, l);
    else if (dropout() && training)
      ops::record_avgpool_dropout_forward(p, shape(io), spec_.count_include_pad, drop, io.in[0], io.out, l);
    else if (is_max())
      ops::record_maxpool2d_forward(p, shape(io), io.in[0], io.out, argmax_, l);
    else
      ops::record_avgpool2d_forward(p, shape(io), spec_.count_include_pad, io.in[0], io.out, l);
  }
  void backward(gpu::Program& p, const Io& io, bool training) override {
    if (!io.din[0].valid()) return;
    const std::string l = io.label + ".backward";
    const ops::PoolDropout drop{spec_.p, io.index};
    if (dropout() && training && is_max())
      ops::record_maxpool_dropout_backward(p, shape(io), drop, argmax_, io.dout, io.din[0], l);
    else if (dropout() && training)
      ops::record_avgpool_dropout_backward(p, shape(io), spec_.count_include_pad, drop, io.dout, io.din[0], l);
    else if (is_max())
      ops::record_maxpool2d_backward(p, shape(io), argmax_, io.dout, io.din[0], l);
    else
      ops::record_avgpool2d_backward(p, shape(io), spec_.count_include_pad, io.dout, io.din[0], l);
  }

 private:
  View argmax_;
};

// Max-Drop: training drops maxima (the group maxima kept for the backward);
// evaluation copies its input.
class MaxDrop final : public Layer {
 public:
  using Layer::Layer;
  ops::MaxDropShape shape(const Io& io) const {
    const Shape& in = io.in_shapes[0];
    return {io.batch, in.c, in.h, in.w, spec_.max_drop_channel};
  }
  void reserve(gpu::Arena& device, const Io& io) override {
    maxima_ = device.reserve(io.label + ".maxima", 4 * shape(io).groups());
  }
  void forward(gpu::Program& p, const Io& io, bool training) override {
    if (training)
      ops::record_max_drop_forward(p, shape(io), spec_.p, io.index, io.in[0], maxima_, io.out,
                                   io.label + ".forward");
    else
      ops::record_copy(p, count(io, io.out_shape), io.in[0], io.out, io.label + ".forward");
  }
  void backward(gpu::Program& p, const Io& io, bool training) override {
    if (!io.din[0].valid()) return;
    if (training)
      ops::record_max_drop_backward(p, shape(io), spec_.p, io.index, io.in[0], maxima_, io.dout, io.din[0],
                                    io.label + ".backward");
    else
      ops::record_copy(p, count(io, io.out_shape), io.dout, io.din[0], io.label + ".backward");
  }

 private:
  View maxima_;
};

// Fractional max pooling: random regions per sample, channel and step in
// training, the fixed pseudo-random ones (u = 1/2) in evaluation.
class FractionalMaxPool2d final : public Layer {
 public:
  using Layer::Layer;
  ops::FractionalPoolShape shape(const Io& io) const {
    const Shape& in = io.in_shapes[0];
    return {io.batch, in.c, in.h, in.w, io.out_shape.h, io.out_shape.w, spec_.overlapping};
  }
  void reserve(gpu::Arena& device, const Io& io) override {
    regions_ = device.reserve(io.label + ".regions", 4 * shape(io).region_words());
    argmax_ = device.reserve(io.label + ".argmax", 4 * count(io, io.out_shape));
  }
  void forward(gpu::Program& p, const Io& io, bool training) override {
    using R = ops::FractionalRegions;
    const R mode = !training ? R::Evaluation : spec_.pseudo_random ? R::PseudoRandom : R::Random;
    ops::record_fractional_maxpool_forward(p, shape(io), mode, io.index, io.in[0], regions_, io.out, argmax_,
                                           io.label + ".forward");
  }
  void backward(gpu::Program& p, const Io& io, bool) override {
    if (!io.din[0].valid()) return;
    ops::record_fractional_maxpool_backward(p, shape(io), regions_, argmax_, io.dout, io.din[0],
                                            io.label + ".backward");
  }

 private:
  View regions_, argmax_;
};

class GlobalAvgPool2d final : public Layer {
 public:
  using Layer::Layer;
  void forward(gpu::Program& p, const Io& io, bool) override {
    const Shape& in = io.in_shapes[0];
    ops::record_global_avgpool_forward(p, io.batch, in.c, in.h * in.w, io.in[0], io.out,
                                       io.label + ".forward");
  }
  void backward(gpu::Program& p, const Io& io, bool) override {
    if (!io.din[0].valid()) return;
    const Shape& in = io.in_shapes[0];
    ops::record_global_avgpool_backward(p, io.batch, in.c, in.h * in.w, io.dout, io.din[0],
                                        io.label + ".backward");
  }
};

}  // namespace

std::unique_ptr<Layer> make_pool_layer(const LayerSpec& spec) {
  switch (spec.type) {
    case LayerType::MaxPool2d:
    case LayerType::AvgPool2d:
    case LayerType::MaxPoolDropout:
    case LayerType::AvgPoolDropout:
      return std::make_unique<Pool2d>(spec);
    case LayerType::MaxDrop:
      return std::make_unique<MaxDrop>(spec);
    case LayerType::FractionalMaxPool2d:
      return std::make_unique<FractionalMaxPool2d>(spec);
    case LayerType::GlobalAvgPool2d:
      return std::make_unique<GlobalAvgPool2d>(spec);
    default:
      throw Error(std::string("internal: ") + layer_type_name(spec.type) + " is not a pooling layer");
  }
}

}  // namespace fovea::nn
