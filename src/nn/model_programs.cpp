// Model (nn/model.h): the program builders. The training step (and its
// update program), evaluation, the probe and the jacobian, each recorded
// with its Pass through the input, forward and backward recorders here and
// the loss and update recorders (model_step.cpp).
#include <span>

#include "data/split.h"
#include "gpu/context.h"
#include "nn/model.h"
#include "nn/model_node.h"
#include "ops/augment.h"
#include "ops/blur.h"
#include "ops/decode.h"
#include "ops/metrics.h"
#include "ops/noise.h"
#include "ops/prune.h"
#include "ops/tensor.h"
#include "util/error.h"

namespace fovea::nn {

// Every program's scratch comes from the device arena, planned with the rest.
std::unique_ptr<gpu::Program> Model::new_program(const std::string& name) {
  auto p = std::make_unique<gpu::Program>(ctx_, name);
  p->set_params(step_params_);
  p->scratch_from(*device_);
  return p;
}

void Model::record_programs() {
  record_train_step();
  record_eval();
  if (opts_.probe) record_probe_programs();
}

// The training step: forward (after the attack, if any), the training loss
// and the aux heads', metric sums, backward; then, in the same program or
// (data_parallel, accumulate) in the update program, the update.
void Model::record_train_step() {
  train_ = new_program("train");
  gpu::Program& t = *train_;
  // With synchronised BatchNorm the program has a host exchange after each
  // BatchNorm reduce (Program::mark_host_exchange; sync_exchanges()).
  record_forward(t, Pass::Train);
  loss_first_ = t.dispatches().size();
  record_loss(t, Pass::Train);
  record_aux_losses(t);
  loss_end_ = t.dispatches().size();
  ops::record_metric_sums(t, opts_.batch, row_stats_, train_sums_, "metrics");
  record_backward(t, Pass::Train);
  // Data-parallel: the step ends at the gradient, which goes to the host to
  // be summed over the ranks; the update program brings the sum back and
  // goes on from here.
  gpu::Program* update = &t;
  if (opts_.data_parallel) {
    ops::record_copy(t, param_floats_, grads_, grads_out_, "gradients.readback");
    t.host_reads(grads_out_);
    update_ = new_program("update");
    update = update_.get();
    ops::record_copy(*update, param_floats_, grads_in_, grads_, "gradients.upload");
  } else if (grads_sum_.valid()) {
    // Accumulation: the sum stays on the device (in place: each value is
    // read and written by the same invocation).
    ops::record_add(t, param_floats_, grads_sum_, grads_, grads_sum_, "gradients.accumulate");
    update_ = new_program("update");
    update = update_.get();
    ops::record_copy(*update, param_floats_, grads_sum_, grads_, "gradients.accumulated");
  }
  record_update(*update);
  if (grads_sum_.valid()) ops::record_copy(*update, param_floats_, grads_zero_, grads_sum_, "gradients.accumulated.zero");
  if (!pruned_.empty()) {
    const uint32_t arrays = ops::optimizer_state_arrays(opts_.optim);
    ops::record_prune_mask(*update, {pruned_.size(), param_floats_, arrays, ops::optimizer_state_stride(param_floats_)},
                           pruned_indices_, params_, arrays ? optim_state_ : gpu::View{}, "prune");
  }
  t.host_reads(train_sums_);
  if (opts_.sync_bn) find_sync_exchanges();
}

// Evaluation: forward (after the attack, if any), the plain loss, metric
// sums (and a copy of the logits for the host).
void Model::record_eval() {
  const uint32_t B = opts_.batch;
  eval_ = new_program("eval");
  record_forward(*eval_, Pass::Eval);
  record_loss(*eval_, Pass::Eval);
  ops::record_metric_sums(*eval_, B, row_stats_, eval_sums_, "metrics");
  eval_->host_reads(eval_sums_);
  if (opts_.read_logits) {
    const gpu::View& logits = nodes_[main_nodes_ - 1].io.out;
    ops::record_copy(*eval_, uint64_t(B) * spec_.classes, logits, logits_ring_, "logits.readback");
    eval_->host_reads(logits_ring_);
  }
}

// The sharpness probe's two programs (model.h).
void Model::record_probe_programs() {
  const uint32_t B = opts_.batch;
  probe_ = new_program("probe");
  record_probe(*probe_);
  record_loss(*probe_, Pass::Probe);
  ops::record_metric_sums(*probe_, B, row_stats_, probe_sums_, "metrics");
  record_backward(*probe_, Pass::Probe);
  probe_->host_reads(probe_sums_);
  jacobian_ = new_program("jacobian");
  record_forward(*jacobian_, Pass::Jacobian);
  const gpu::View& dlogits = nodes_[main_nodes_ - 1].io.dout;
  ops::record_copy(*jacobian_, uint64_t(B) * spec_.classes, probe_vectors_, dlogits, "probe.vectors");
  record_backward(*jacobian_, Pass::Jacobian);
}

void Model::record_input(gpu::Program& p, Pass pass) {
  const bool training = pass == Pass::Train;
  const uint32_t B = opts_.batch;
  ops::DecodeShape ds{B, spec_.channels, spec_.height, spec_.width};
  ops::record_decode(p, ds, images_, stats_, x_, "input.decode");
  const ops::BlurShape bs{B, spec_.channels, spec_.height, spec_.width};
  // The blur's scratch is free until the blur: augmentation works through it.
  if (training) ops::record_augment(p, bs, opts_.augment, x_, blur_scratch_, stats_, labels_, "input.augment");
  if (!training || opts_.train_blur)
    ops::record_blur(p, bs, ops::BlurKind::Image, training ? opts_.blur_replay : 0.0, x_, blur_scratch_,
                     "input.blur");
  if (!training) ops::record_gaussian_noise(p, bs, opts_.noise_seed, x_, stats_, "input.noise");
}

void Model::record_forward(gpu::Program& p, Pass pass) {
  record_input(p, pass);
  const bool training = pass == Pass::Train;
  const data::AdversarialConfig& a = training ? opts_.augment.adversarial : opts_.attack;
  if ((training || pass == Pass::Eval) && a.any()) record_attack(p, a, pass);
  // Aux heads only in training, after the main graph.
  for (size_t n = 0; n < (training ? nodes_.size() : main_nodes_); ++n) {
    Node& node = nodes_[n];
    const bool train_layer = training && !frozen(n);  // a frozen layer runs as in evaluation
    node.layer->forward(p, node.io, train_layer);
    record_smoothing(p, node, node.io.out, node.io.label + ".smooth");
  }
}

// The probe's two forwards: at the base parameters (each layer's Io with
// its parameter views moved to the base block, same offsets), keeping the
// patterns; then at the parameters with the patterns frozen.
void Model::record_probe(gpu::Program& p) {
  record_input(p, Pass::Probe);
  const auto main = std::span(nodes_).first(main_nodes_);
  for (Node& node : main) {
    Io base = node.io;
    for (size_t k = 0; k < node.params.size(); ++k) {
      const ParamTensor& pt = tensors_[node.params[k]];
      base.params[k] = base_params_.sub(pt.offset * 4, pt.count * 4, pt.name + ".base");
    }
    if (base.param_span.valid())
      base.param_span = base_params_.sub(node.io.param_span.offset - params_.offset, node.io.param_span.size,
                                         node.io.label + ".params.base");
    node.layer->forward(p, base, false);
    record_smoothing(p, node, node.io.out, node.io.label + ".base.smooth");
    if (node.layer->has_pattern()) node.layer->keep_pattern(p, node.io);
  }
  for (Node& node : main) {
    if (node.layer->has_pattern())
      node.layer->forward_frozen(p, node.io);
    else
      node.layer->forward(p, node.io, false);
    record_smoothing(p, node, node.io.out, node.io.label + ".smooth");
  }
}

// Curriculum by Smoothing: conv2d outputs pass through the 3x3 Gaussian of
// P.feature_sigma; the operator is self-adjoint, so the gradient takes the
// same path backward.
void Model::record_smoothing(gpu::Program& p, const Node& node, const gpu::View& v,
                             const std::string& label) {
  const size_t index = size_t(&node - nodes_.data());
  if (!opts_.feature_smoothing || graph_[index].type != LayerType::Conv2d) return;
  const Shape& o = node.io.out_shape;
  ops::record_blur(p, ops::BlurShape{opts_.batch, o.c, o.h, o.w}, ops::BlurKind::Feature, 0.0, v,
                   blur_scratch_, label);
}

void Model::record_backward(gpu::Program& p, Pass pass) {
  const bool training = pass == Pass::Train;
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
    Node& node = *it;
    const size_t index = size_t(nodes_.rend() - it) - 1;
    // Aux heads run in training only (their readers' gradient parts too).
    if (!node.requires_grad || (!training && index >= main_nodes_)) continue;
    // dout = the sum of what every reader sent back, in a fixed order.
    const uint64_t n = uint64_t(opts_.batch) * node.io.out_shape.size();
    const auto parts = std::span(node.grad_parts).first(node.grad_parts.size() - (training ? 0 : node.aux_parts));
    // empty, or one per reader (two or more; one when an aux head's part is left out)
    if (parts.size() == 1)
      ops::record_copy(p, n, parts[0], node.io.dout, node.io.label + ".grad_sum");
    for (size_t k = 1; k < parts.size(); ++k)
      ops::record_add(p, n, k == 1 ? parts[0] : node.io.dout, parts[k], node.io.dout,
                      node.io.label + ".grad_sum." + std::to_string(k));
    record_smoothing(p, node, node.io.dout, node.io.label + ".smooth.grad");
    const bool train_layer = training && !frozen(index);
    if (pass == Pass::Probe && node.layer->has_pattern()) {
      node.layer->backward_frozen(p, node.io);
    } else if (pass == Pass::Attack) {
      Io io = node.io;
      io.param_grads = false;
      node.layer->backward(p, io, false);
    } else
      node.layer->backward(p, node.io, train_layer);
  }
  // The input's gradient: the sum of its readers' (probe models and attacks only).
  for (size_t k = 1; k < x_grad_parts_.size(); ++k)
    ops::record_add(p, x_grad_.size / 4, k == 1 ? x_grad_parts_[0] : x_grad_, x_grad_parts_[k], x_grad_,
                    "input.grad_sum." + std::to_string(k));
}

}  // namespace fovea::nn
