// The dropout family's layers: dropout, dropout2d, gaussian_dropout and
// alpha_dropout as layers of their own, and the two options that act inside
// other layers: DropConnect (dense and conv2d weights) and stochastic depth
// (add's residual branch, recorded by the add layer in layers.cpp). Masks
// are keyed by the node index (Io::index) as the Philox stream; see
// src/ops/dropout.h. In evaluation every one is the identity.
#pragma once
#include <memory>

#include "nn/layers.h"
#include "ops/dropout.h"

namespace fovea::nn {

std::unique_ptr<Layer> make_dropout_layer(const LayerSpec& spec);

// Stochastic depth's per-sample mask for an add layer with stochastic_depth_p > 0.
ops::DropoutMask stochastic_depth_mask(const LayerSpec& spec, const Io& io);

// DropConnect on a layer's effective weight W (the parameter, or its
// standardised or spectrally normalised form) of `count` values: in training
// the layer runs on W_d = W m / (1 - p), a copy it owns (m ~ Bernoulli(1 - p)
// per weight, one mask per step for the whole batch), and the weight gradient
// the layer's op writes into dL/dW_d comes back as dL/dW = dL/dW_d m / (1 - p).
// Inactive (p = 0): W itself, no copy.
class DropConnect {
 public:
  void reserve(gpu::Arena& device, const Io& io, uint64_t count, float p);
  bool active() const { return mask_.p > 0; }
  // The weight the layer's op uses: W_d in training when active, else w.
  const gpu::View& weight(const gpu::View& w, bool training) const { return active() && training ? w_d_ : w; }
  // Where the op writes its weight gradient: dL/dW_d when active in
  // training, else dw.
  const gpu::View& weight_grad(const gpu::View& dw, bool training) const {
    return active() && training ? dw_d_ : dw;
  }
  // W_d = mask(w) (training forward only; nothing when inactive).
  void forward(gpu::Program& p, const Io& io, const gpu::View& w) const;
  // dw = mask(dL/dW_d) (nothing when inactive or in evaluation).
  void backward(gpu::Program& p, const Io& io, const gpu::View& dw, bool training) const;

 private:
  ops::DropoutMask mask_{ops::DropoutKind::Dropout, 0.0f, 1, 0, 0};
  uint64_t count_ = 0;
  gpu::View w_d_, dw_d_;
};

}  // namespace fovea::nn
