// Layers: what each spec layer type records into a program. The model
// (src/nn/model.cpp) owns memory and the graph; a layer sees only its own
// inputs, output, gradients and parameters through Io.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gpu/memory.h"
#include "gpu/recorder.h"
#include "nn/model_spec.h"

namespace fovea::nn {

// How a parameter tensor starts (PyTorch's defaults).
enum class Init { Uniform, Ones, Zeros };  // Uniform: U(+-1/sqrt(fan_in))

struct ParamDecl {
  std::string suffix;  // "weight", "bias"
  std::vector<uint32_t> shape;
  uint32_t fan_in = 0;
  Init init = Init::Uniform;
  // Placed right after the previous tensor, with no alignment gap, so ops
  // that take a packed [2, C] (gamma, beta) view can bind the pair as one.
  bool packed = false;
};

// Non-trainable state saved with the weights (BatchNorm's running
// statistics): device memory the training step updates, initialised to
// `init`. A host counter has no device memory: its value is the number of
// training steps the model has taken (num_batches_tracked).
struct StateDecl {
  std::string suffix;
  std::vector<uint32_t> shape;
  float init = 0;
  bool packed = false;
  bool host_counter = false;
  uint32_t gap_before = 0;    // floats left unused before it, when packed
  bool unit_normal = false;   // starts as normalize(randn), like spectral_norm's u, v
};

// The buffers of one node for one recording. Views that carry no data are
// invalid (View{}): din[i] when input i needs no gradient.
struct Io {
  uint32_t batch = 0;
  std::vector<Shape> in_shapes;
  Shape out_shape;
  std::vector<gpu::View> in, din;
  gpu::View out, dout;
  std::vector<gpu::View> params, grads;  // in declaration order
  gpu::View param_span, grad_span;       // all of them, when they are packed together
  gpu::View state_span;                  // the layer's device state (packed)
  std::string label;                     // "layers.3.conv2d"
  uint32_t index = 0;                    // the node's index in the spec: its random stream
  bool probe = false;                    // the model records the probe programs (reserve patterns)
  // false for a frozen layer (--freeze): backward writes din only, never the
  // parameter gradients (dense and convolutions skip that work; a norm layer,
  // whose kernels produce both, writes them to a buffer of its own).
  bool param_grads = true;
  // The model records an input-gradient attack, whose backward runs every
  // layer with param_grads false (a norm layer reserves its own buffer).
  bool attack = false;
  // Synchronised BatchNorm (ModelOptions::sync_bn; the training step only):
  // the layer's training forward and backward record its partial sums into
  // sync_partials, then mark a host exchange in the program
  // (gpu::Program::mark_host_exchange: tag = index, value = the partials'
  // chunks; the host sums the partials over the ranks into sync_summed),
  // then record what reads the sums. Invalid otherwise.
  gpu::View sync_partials, sync_summed;
};

class Layer {
 public:
  explicit Layer(const LayerSpec& spec) : spec_(spec) {}
  virtual ~Layer() = default;
  const LayerSpec& spec() const { return spec_; }

  virtual std::vector<ParamDecl> params(const std::vector<Shape>& in) const { (void)in; return {}; }
  virtual std::vector<StateDecl> state(const std::vector<Shape>& in) const { (void)in; return {}; }
  // Device memory this layer keeps for itself (im2col workspaces).
  virtual void reserve(gpu::Arena& device, const Io& io) { (void)device; (void)io; }
  // Output = input 0, no copy (flatten, reshape).
  virtual bool aliases_input() const { return false; }
  virtual void forward(gpu::Program& p, const Io& io, bool training) = 0;
  // Writes din[i] for every valid din[i], and the parameter gradients, of
  // the forward recorded with the same `training`: in evaluation mode random
  // layers are the identity and BatchNorm's running statistics are constants
  // (the sharpness probe differentiates the evaluation-mode loss).
  virtual void backward(gpu::Program& p, const Io& io, bool training) = 0;

  // The sharpness probe (src/probe/sharpness.h) takes finite differences of
  // evaluation-mode gradients between nearby weights. Across a kink (relu's
  // 0, a max-pooling tie) those see jumps that the Hessian does not have, so
  // a probe step first runs the evaluation forward at the base weights and
  // layers with a pattern (relu, leaky_relu: which inputs are > 0; max
  // pooling: the winners) keep it (keep_pattern) and then run the forward
  // at the perturbed weights and the backward with it (forward_frozen,
  // backward_frozen). The loss is then smooth near the base weights and its
  // Hessian there is the one autograd computes (which differentiates kinks
  // as constant patterns).
  virtual bool has_pattern() const { return false; }
  virtual void keep_pattern(gpu::Program& p, const Io& io) { (void)p; (void)io; }
  virtual void forward_frozen(gpu::Program& p, const Io& io) { (void)p; (void)io; }
  virtual void backward_frozen(gpu::Program& p, const Io& io) { (void)p; (void)io; }

 protected:
  LayerSpec spec_;
};

std::unique_ptr<Layer> make_layer(const LayerSpec& spec);

}  // namespace fovea::nn
