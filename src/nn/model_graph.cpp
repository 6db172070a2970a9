// Model (nn/model.h): the layer graph. Its nodes (the spec's layers, then
// the aux heads' chains), each node's parameter and state tensors, the
// penalised tensors, the edges its gradient arrives through, and the runs
// of parameters the optimizer steps.
#include <string>
#include <utility>
#include <vector>

#include "gpu/context.h"
#include "nn/model.h"
#include "nn/model_node.h"
#include "ops/optim.h"
#include "util/error.h"

namespace fovea::nn {

// The graph's nodes: the spec's main layers (0 .. main_nodes_ - 1), then
// each aux head's chain (graph_ holds their specs with inputs as node indices).
void Model::plan_graph() {
  graph_ = spec_.layers;
  main_nodes_ = graph_.size();
  for (const AuxHead& h : spec_.aux) {
    AuxRun run;
    run.last = graph_.size() + h.layers.size() - 1;
    run.weight = h.weight;
    run.name = h.name;
    aux_.push_back(std::move(run));
    for (size_t j = 0; j < h.layers.size(); ++j) {
      LayerSpec l = h.layers[j];
      l.inputs = {j == 0 ? h.from : int32_t(graph_.size()) - 1};
      if (opts_.sync_bn && (l.type == LayerType::BatchNorm2d || l.type == LayerType::BatchNorm1d))
        throw Error("model " + spec_.path + ": --sync-bn does not synchronise the BatchNorm of aux head '" + h.name + "'");
      graph_.push_back(l);
    }
  }
  // How many layers read each node's output, and the model's input.
  std::vector<size_t> readers(graph_.size());
  size_t input_readers = 0;
  for (size_t n = 0; n < graph_.size(); ++n)
    for (int32_t i : graph_[n].inputs) ++(i >= 0 ? readers[size_t(i)] : input_readers);
  for (size_t n = 0; n < graph_.size(); ++n) add_node(n);

  // Activations and gradients, each a view of its own: build() lets views
  // whose lives do not overlap share bytes (nn/memory_plan.h).
  for (size_t n = 0; n < nodes_.size(); ++n) wire_node(n, readers, input_readers);
  if (!nodes_[main_nodes_ - 1].requires_grad)
    throw Error("model " + spec_.path + ": no layer has parameters to train" +
                (opts_.frozen.empty() ? "" : " (--freeze froze every layer that has)"));
  for (const AuxRun& a : aux_)
    if (!nodes_[a.last].requires_grad)
      throw Error("model " + spec_.path + ": aux head '" + a.name + "' has nothing to train");
  plan_trained_spans();
}

// Node n's inputs, output and gradient views. A node read by several
// layers gets one gradient buffer per reader, summed into its own before
// its backward (record_backward); so does the model's input.
void Model::wire_node(size_t n, const std::vector<size_t>& readers, size_t input_readers) {
  const uint32_t B = opts_.batch;
  Node& node = nodes_[n];
  const LayerSpec& ls = graph_[n];
  const uint64_t bytes = 4ull * B * ls.out.size();
  const std::string base = node.io.label;
  for (size_t j = 0; j < ls.inputs.size(); ++j) {
    const int32_t i = ls.inputs[j];
    node.io.in.push_back(i < 0 ? x_ : nodes_[size_t(i)].io.out);
    gpu::View din;
    if (i >= 0 && nodes_[size_t(i)].requires_grad) {
      Node& src = nodes_[size_t(i)];
      if (readers[size_t(i)] == 1) {
        din = src.io.dout;
      } else {
        din = device_->reserve(base + ".grad_in." + std::to_string(j), 4ull * B * src.io.out_shape.size());
        src.grad_parts.push_back(din);
        src.aux_parts += n >= main_nodes_;  // aux readers come last
      }
    } else if (i < 0 && x_grad_.valid()) {
      if (input_readers == 1) {
        din = x_grad_;
      } else {
        din = device_->reserve(base + ".grad_in." + std::to_string(j), x_grad_.size);
        x_grad_parts_.push_back(din);
      }
    }
    node.io.din.push_back(din);
  }
  if (node.layer->aliases_input()) {
    node.io.out = node.io.in[0];
    node.io.dout = node.io.din[0];  // the gradient goes straight to the input's target
  } else {
    node.io.out = device_->reserve(base + ".out", bytes);
    if (node.requires_grad) node.io.dout = device_->reserve(base + ".grad", bytes);
  }
  node.layer->reserve(*device_, node.io);
}

// Node n of graph_: its layer, its parameter and state tensors.
void Model::add_node(size_t n) {
  const LayerSpec& ls = graph_[n];
  Node node;
  node.layer = make_layer(ls);
  node.io.batch = opts_.batch;
  node.io.out_shape = ls.out;
  node.io.label = (n < main_nodes_ ? "layers." + std::to_string(n) : ls.name) + "." + layer_type_name(ls.type);
  node.io.index = uint32_t(n);
  node.io.probe = opts_.probe;
  node.io.param_grads = !frozen(n);
  node.io.attack = attacks();
  const uint64_t align = ctx_.info().view_alignment / 4;
  for (int32_t i : ls.inputs) node.io.in_shapes.push_back(i < 0 ? spec_.input() : graph_[size_t(i)].out);
  for (const ParamDecl& d : node.layer->params(node.io.in_shapes)) {
    uint64_t count = 1;
    for (uint32_t v : d.shape) count *= v;
    if (!d.packed) param_floats_ = (param_floats_ + align - 1) / align * align;
    tensors_.push_back({tensor_prefix(ls, n) + "." + d.suffix, d.init, d.shape, param_floats_, count, d.fan_in});
    node.params.push_back(tensors_.size() - 1);
    // Weights are every tensor of a layer with weights but its biases
    // ("weight", spectral norm's "weight_orig", squeeze-excitation's "fc1.weight").
    const ops::RegularizeConfig& rc = opts_.regularize;
    const bool weighted = ls.type == LayerType::Dense || ls.type == LayerType::Conv2d ||
                          ls.type == LayerType::ConvTranspose2d || ls.type == LayerType::SqueezeExcitation;
    const bool bias = d.suffix == "bias" || d.suffix.ends_with(".bias");
    if (((weighted && !bias) || rc.penalize_biases) && !frozen(n)) {
      const PenaltyTerm t{tensors_.size() - 1, ls.l1.value_or(rc.l1), ls.l2.value_or(rc.l2)};
      if (t.l1 != 0 || t.l2 != 0) penalty_terms_.push_back(t);
    }
    param_floats_ += count;
  }
  for (const StateDecl& d : node.layer->state(node.io.in_shapes)) {
    uint64_t count = 1;
    for (uint32_t v : d.shape) count *= v;
    StateTensor st{tensor_prefix(ls, n) + "." + d.suffix, d.shape, 0, count, d.init, d.host_counter,
                   d.unit_normal};
    st.frozen = d.host_counter && frozen(n);
    if (!d.host_counter) {
      if (!d.packed) state_floats_ = (state_floats_ + align - 1) / align * align;
      state_floats_ += d.gap_before;
      st.offset = state_floats_;
      state_floats_ += count;
      node.state.push_back(state_tensors_.size());
    }
    state_tensors_.push_back(st);
  }
  node.requires_grad = !node.params.empty() && !frozen(n);
  // A probe model, and an attack, differentiate the input too.
  for (int32_t i : ls.inputs) node.requires_grad |= i >= 0 ? nodes_[size_t(i)].requires_grad : bool(x_grad_.valid());
  nodes_.push_back(std::move(node));
}

// The optimizer's runs of unfrozen tensors (laid out in layer order);
// layers without parameters do not break a run.
void Model::plan_trained_spans() {
  bool extend = false;
  for (size_t n = 0; n < nodes_.size(); ++n)
    for (size_t t : nodes_[n].params) {
      const ParamTensor& pt = tensors_[t];
      if (frozen(n)) {
        extend = false;
      } else if (extend) {
        trained_.back().count = pt.offset + pt.count - trained_.back().offset;
      } else {
        trained_.push_back({pt.offset, pt.count, 0});
        extend = true;
      }
    }
}

// Places each run's optimizer state (aligned) and returns the floats of all.
uint64_t Model::place_optimizer_state() {
  const uint64_t align = ctx_.info().view_alignment / 4;
  uint64_t floats = 0;
  for (TrainedSpan& t : trained_) {
    floats = (floats + align - 1) / align * align;
    t.state_offset = floats;
    floats += ops::optimizer_state_floats(opts_.optim, t.count);
  }
  return floats;
}

}  // namespace fovea::nn
