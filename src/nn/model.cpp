#include "nn/model.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <sstream>

#include "data/split.h"
#include "gpu/context.h"
#include "nn/memory_plan.h"
#include "nn/model_node.h"
#include "ops/activation.h"
#include "ops/augment.h"
#include "ops/blur.h"
#include "ops/decode.h"
#include "ops/dense.h"
#include "ops/kernel_policy.h"
#include "ops/noise.h"
#include "ops/prune.h"
#include "ops/norm.h"
#include "ops/tensor.h"
#include "util/error.h"

namespace fovea::nn {

using gpu::View;

Model::Model(gpu::Context& ctx, const ModelSpec& spec, const ModelOptions& opts)
    : ctx_(ctx), spec_(spec), opts_(opts) {
  if (opts_.batch == 0) throw Error("--batch must be at least 1");
  ops::validate_regularization(opts_.regularize);
  if (opts_.channel_mean.size() != spec_.channels || opts_.channel_std.size() != spec_.channels)
    throw Error("model " + spec_.path + ": the data has " +
                std::to_string(opts_.channel_mean.size()) + " channels, the model expects " +
                std::to_string(spec_.channels));
  if (opts_.augment.mixing() && spec_.loss.kind != LossKind::CrossEntropy)
    throw Error("mixup and cutmix (--augment) mix the targets of the cross_entropy loss; the model " + spec_.path +
                " uses " + loss_name(spec_.loss.kind));
  if (!opts_.frozen.empty() && opts_.frozen.size() != spec_.layers.size())
    throw Error("internal: ModelOptions::frozen has " + std::to_string(opts_.frozen.size()) + " flags for " +
                std::to_string(spec_.layers.size()) + " layers");
  build();
}

Model::~Model() = default;

// The graph's nodes: the spec's main layers (0 .. main_nodes_ - 1), then
// each aux head's chain (graph_ holds their specs with inputs as node indices).
void Model::plan_graph() {
  const uint32_t B = opts_.batch;
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
  // Consumers of each node's output (the loss consumes the last main node).
  std::vector<std::vector<std::pair<size_t, size_t>>> consumers(graph_.size());
  size_t input_readers = 0;
  for (size_t n = 0; n < graph_.size(); ++n)
    for (size_t j = 0; j < graph_[n].inputs.size(); ++j)
      if (graph_[n].inputs[j] >= 0)
        consumers[size_t(graph_[n].inputs[j])].push_back({n, j});
      else
        ++input_readers;
  for (size_t n = 0; n < graph_.size(); ++n) add_node(n);

  // Activations and gradients, each a view of its own: build() lets views
  // whose lives do not overlap share bytes (nn/memory_plan.h). A node read
  // by several layers gets one gradient buffer per reader, summed into its
  // own before its backward.
  for (size_t n = 0; n < nodes_.size(); ++n) {
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
        if (consumers[size_t(i)].size() == 1) {
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
  if (!nodes_[main_nodes_ - 1].requires_grad)
    throw Error("model " + spec_.path + ": no layer has parameters to train" +
                (opts_.frozen.empty() ? "" : " (--freeze froze every layer that has)"));
  for (const AuxRun& a : aux_)
    if (!nodes_[a.last].requires_grad)
      throw Error("model " + spec_.path + ": aux head '" + a.name + "' has nothing to train");
  plan_trained_spans();
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

void Model::build() {
  device_ = std::make_unique<gpu::Arena>(ctx_, gpu::MemoryKind::Device, "device");
  upload_ = std::make_unique<gpu::Arena>(ctx_, gpu::MemoryKind::Upload, "upload");
  readback_ = std::make_unique<gpu::Arena>(ctx_, gpu::MemoryKind::Readback, "readback");
  const uint32_t B = opts_.batch;
  const std::string purpose = "model " + spec_.path + " at batch " + std::to_string(B);
  for (gpu::Arena* a : {device_.get(), upload_.get(), readback_.get()}) a->set_purpose(purpose);
  const uint64_t D = spec_.input_features();
  x_ = device_->reserve("input", 4ull * B * D);
  if (opts_.probe && opts_.attack.any()) throw Error("internal: a probe model with an attack");
  if (opts_.probe || attacks()) x_grad_ = device_->reserve("input.grad", 4ull * B * D);
  if (attacks()) x_clean_ = device_->reserve("input.clean", 4ull * B * D);
  plan_graph();
  uint64_t scratch = uint64_t(B) * D;
  if (opts_.feature_smoothing)
    for (const LayerSpec& l : spec_.layers)
      if (l.type == LayerType::Conv2d) scratch = std::max(scratch, uint64_t(B) * l.out.size());
  blur_scratch_ = device_->reserve("blur.scratch", 4 * scratch);
  params_ = device_->reserve("parameters", param_floats_ * 4);
  if (opts_.probe) base_params_ = device_->reserve("parameters.base", param_floats_ * 4);
  state_ = device_->reserve("state", std::max<uint64_t>(state_floats_, 1) * 4);
  grads_ = device_->reserve("gradients", param_floats_ * 4);
  if (opts_.accumulate && !opts_.data_parallel) {
    grads_sum_ = device_->reserve("gradients.accumulated", param_floats_ * 4);
    grads_zero_ = device_->reserve("gradients.zero", param_floats_ * 4);
  }
  if (opts_.regularize.clip_norm > 0) clip_norm_ = device_->reserve("clip.norm_scale", 8);
  // Every state array of the optimizer in one buffer (the kernel binds
  // parameters, gradients and state); never saved with the weights.
  optim_state_ = device_->reserve(ops::optimizer_name(opts_.optim.kind) + ".state", place_optimizer_state() * 4);
  stats_ = device_->reserve("input.mean_invstd", 8ull * spec_.channels);
  row_stats_ = device_->reserve("loss.rows", 8ull * B);
  if (!opts_.class_weights.empty()) {
    if (opts_.class_weights.size() != spec_.classes)
      throw Error("internal: " + std::to_string(opts_.class_weights.size()) + " class weights for " +
                  std::to_string(spec_.classes) + " classes");
    if (spec_.loss.kind != LossKind::CrossEntropy)
      throw Error("--class-weights weights the cross_entropy loss; the model " + spec_.path + " uses " +
                  loss_name(spec_.loss.kind));
    class_weights_ = device_->reserve("loss.class_weights", 4ull * spec_.classes);
  }
  for (const auto& [name, indices] : opts_.pruned) {
    auto t = std::find_if(tensors_.begin(), tensors_.end(), [&](const ParamTensor& p) { return p.name == name; });
    if (t == tensors_.end()) throw Error("model " + spec_.path + ": no parameter tensor '" + name + "' to prune");
    for (uint32_t i : indices) {
      if (i >= t->count) throw Error("internal: pruned index " + std::to_string(i) + " outside tensor " + name);
      pruned_.push_back(uint32_t(t->offset + i));
    }
  }
  if (!pruned_.empty() && !(trained_.size() == 1 && trained_[0].count == param_floats_))
    throw Error("pruning keeps every layer's optimizer state masked; it cannot be combined with --freeze");
  if (!pruned_.empty()) pruned_indices_ = device_->reserve("prune.indices", 4ull * pruned_.size());
  images_ = upload_->reserve("batch.images", (uint64_t(B) * D + 3) / 4 * 4, opts_.slots);
  labels_ = upload_->reserve("batch.labels", 4ull * (B + (opts_.augment.mixing() ? data::kMixWords : 0)),
                             opts_.slots);
  step_params_ = upload_->reserve("step.params", sizeof(nn::StepParams), opts_.slots);
  train_sums_ = readback_->reserve("metrics.train", sizeof(ops::MetricSums), opts_.slots);
  if (opts_.data_parallel) {
    grads_out_ = readback_->reserve("gradients.host", param_floats_ * 4, opts_.slots);
    grads_in_ = upload_->reserve("gradients.summed", param_floats_ * 4, opts_.slots);
    if (opts_.sync_bn) plan_sync_bn();
  }
  eval_sums_ = readback_->reserve("metrics.eval", sizeof(ops::MetricSums), opts_.slots);
  if (opts_.read_logits)
    logits_ring_ = readback_->reserve("logits.host", 4ull * B * spec_.classes, opts_.slots);
  if (opts_.probe) {
    probe_sums_ = readback_->reserve("metrics.probe", sizeof(ops::MetricSums), opts_.slots);
    probe_vectors_ = upload_->reserve("probe.vectors", 4ull * B * spec_.classes, opts_.slots);
  }
  upload_->commit();
  readback_->commit();
  for (Node& node : nodes_) {
    for (size_t t : node.params) {
      const ParamTensor& pt = tensors_[t];
      node.io.params.push_back(params_.sub(pt.offset * 4, pt.count * 4, pt.name));
      node.io.grads.push_back(grads_.sub(pt.offset * 4, pt.count * 4, pt.name + ".grad"));
    }
    if (!node.params.empty()) {
      const ParamTensor& first = tensors_[node.params.front()];
      const ParamTensor& last = tensors_[node.params.back()];
      const uint64_t bytes = (last.offset + last.count - first.offset) * 4;
      node.io.param_span = params_.sub(first.offset * 4, bytes, node.io.label + ".params");
      node.io.grad_span = grads_.sub(first.offset * 4, bytes, node.io.label + ".grads");
    }
    if (!node.state.empty()) {
      const StateTensor& first = state_tensors_[node.state.front()];
      const StateTensor& last = state_tensors_[node.state.back()];
      node.io.state_span = state_.sub(first.offset * 4, (last.offset + last.count - first.offset) * 4,
                                      node.io.label + ".state");
    }
  }

  const uint32_t C = spec_.classes;
  const gpu::View& logits = nodes_[main_nodes_ - 1].io.out;
  const gpu::View& dlogits = nodes_[main_nodes_ - 1].io.dout;
  // Every program's scratch comes from the device arena, planned with the rest.
  auto program = [&](const char* name) {
    auto p = std::make_unique<gpu::Program>(ctx_, name);
    p->set_params(step_params_);
    p->scratch_from(*device_);
    return p;
  };
  train_ = program("train");
  // With synchronised BatchNorm the step goes on in later programs (t).
  gpu::Program& loss = record_forward(*train_, Pass::Train);
  loss_ = {&loss, loss.dispatches().size(), 0};
  record_loss(loss, Pass::Train);
  record_aux_losses(loss);
  loss_.end = loss.dispatches().size();
  ops::record_metric_sums(loss, B, row_stats_, train_sums_, "metrics");
  gpu::Program& t = record_backward(loss, Pass::Train);
  // Data-parallel: the step ends at the gradient, which goes to the host to
  // be summed over the ranks; the update program brings the sum back and
  // goes on from here.
  gpu::Program* update = &t;
  if (opts_.data_parallel) {
    ops::record_copy(t, param_floats_, grads_, grads_out_, "gradients.readback");
    t.host_reads(grads_out_);
    update_ = program("update");
    update = update_.get();
    ops::record_copy(*update, param_floats_, grads_in_, grads_, "gradients.upload");
  } else if (grads_sum_.valid()) {
    // Accumulation: the sum stays on the device (in place: each value is
    // read and written by the same invocation).
    ops::record_add(t, param_floats_, grads_sum_, grads_, grads_sum_, "gradients.accumulate");
    update_ = program("update");
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
  loss.host_reads(train_sums_);

  eval_ = program("eval");
  record_forward(*eval_, Pass::Eval);
  record_loss(*eval_, Pass::Eval);
  ops::record_metric_sums(*eval_, B, row_stats_, eval_sums_, "metrics");
  eval_->host_reads(eval_sums_);
  if (opts_.read_logits) {
    ops::record_copy(*eval_, uint64_t(B) * C, logits, logits_ring_, "logits.readback");
    eval_->host_reads(logits_ring_);
  }
  if (opts_.probe) {
    probe_ = program("probe");
    record_probe(*probe_);
    record_loss(*probe_, Pass::Probe);
    ops::record_metric_sums(*probe_, B, row_stats_, probe_sums_, "metrics");
    record_backward(*probe_, Pass::Probe);
    probe_->host_reads(probe_sums_);
    jacobian_ = program("jacobian");
    record_forward(*jacobian_, Pass::Jacobian);
    ops::record_copy(*jacobian_, uint64_t(B) * C, probe_vectors_, dlogits, "probe.vectors");
    record_backward(*jacobian_, Pass::Jacobian);
  }
  plan_memory();
  device_->commit();
  // The alignment gaps between gradient tensors are never written by a
  // kernel but clipped and copied with the block: zero from the start (a
  // data-parallel rank may never call init_parameters).
  const std::vector<float> zeros(param_floats_, 0.0f);
  gpu::upload(ctx_, grads_, zeros.data(), zeros.size() * 4);
  if (grads_sum_.valid()) {
    gpu::upload(ctx_, grads_sum_, zeros.data(), zeros.size() * 4);
    gpu::upload(ctx_, grads_zero_, zeros.data(), zeros.size() * 4);
  }
  std::vector<float> ms(2 * spec_.channels);
  for (uint32_t c = 0; c < spec_.channels; ++c) {
    ms[c] = float(opts_.channel_mean[c]);
    ms[spec_.channels + c] = float(1.0 / std::max(opts_.channel_std[c], 1e-12));
  }
  gpu::upload(ctx_, stats_, ms.data(), ms.size() * 4);
  if (class_weights_.valid())
    gpu::upload(ctx_, class_weights_, opts_.class_weights.data(), opts_.class_weights.size() * 4);
  if (pruned_indices_.valid()) gpu::upload(ctx_, pruned_indices_, pruned_.data(), pruned_.size() * 4);
}

// Lays the device arena out by liveness over every program (nn/memory_plan.h):
// what the host uploads or downloads, and what lives from step to step, is
// pinned; activations, their gradients, workspaces and scratch share bytes
// where their lives in every program are disjoint.
void Model::plan_memory() {
  std::vector<gpu::Program*> programs;
  for (const gpu::Program* p : all_programs()) programs.push_back(const_cast<gpu::Program*>(p));
  const std::vector<const gpu::Program*> readers(programs.begin(), programs.end());
  std::vector<gpu::View> pinned = {params_, base_params_, grads_,     optim_state_, state_,          stats_,
                                   x_grad_, grads_sum_,  grads_zero_, class_weights_, pruned_indices_};
  // Without sharing every view is pinned: the layout stays as reserved.
  if (!opts_.share_memory) pinned.insert(pinned.end(), device_->views().begin(), device_->views().end());
  lives_ = view_lives(*device_, readers, pinned);
  std::vector<gpu::View*> views = {&state_,    &params_,       &grads_,     &optim_state_, &stats_,
                                   &x_,        &row_stats_,    &blur_scratch_, &clip_norm_, &x_grad_,
                                   &base_params_, &grads_sum_, &grads_zero_, &class_weights_, &pruned_indices_,
                                   &x_clean_};
  for (gpu::View& v : x_grad_parts_) views.push_back(&v);
  for (Node& node : nodes_) {
    for (gpu::View* v : {&node.io.out, &node.io.dout, &node.io.param_span, &node.io.grad_span, &node.io.state_span})
      views.push_back(v);
    for (auto* list : {&node.io.in, &node.io.din, &node.io.params, &node.io.grads, &node.grad_parts})
      for (gpu::View& v : *list) views.push_back(&v);
  }
  pack_arena(*device_, lives_, std::max<uint64_t>(256, ctx_.info().view_alignment), programs, views);
}

std::string Model::memory_listing() const { return arena_listing(*device_, all_programs(), lives_); }

// Every recorded program, in the order a training step runs them: train (and
// its synchronised-BatchNorm segments), eval, probe, jacobian, update.
std::vector<const gpu::Program*> Model::all_programs() const {
  std::vector<const gpu::Program*> out{train_.get()};
  for (const auto& p : train_segments_) out.push_back(p.get());
  for (const gpu::Program* p : {eval_.get(), probe_.get(), jacobian_.get(), update_.get()})
    if (p) out.push_back(p);
  return out;
}

std::vector<gpu::Program*> Model::train_programs() {
  std::vector<gpu::Program*> out{train_.get()};
  for (const auto& p : train_segments_) out.push_back(p.get());
  return out;
}

gpu::Program& Model::update_program() {
  if (!update_) throw Error("internal: the update program of a model built without data_parallel or accumulate");
  return *update_;
}

gpu::Program& Model::probe_program() {
  if (!probe_) throw Error("internal: the probe program of a model built without ModelOptions::probe");
  return *probe_;
}

gpu::Program& Model::jacobian_program() {
  if (!jacobian_) throw Error("internal: the jacobian program of a model built without ModelOptions::probe");
  return *jacobian_;
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

gpu::Program& Model::record_forward(gpu::Program& p, Pass pass) {
  record_input(p, pass);
  const bool training = pass == Pass::Train;
  const data::AdversarialConfig& a = training ? opts_.augment.adversarial : opts_.attack;
  if ((training || pass == Pass::Eval) && a.any()) record_attack(p, a, pass);
  gpu::Program* q = &p;
  // Aux heads only in training, after the main graph.
  for (size_t n = 0; n < (training ? nodes_.size() : main_nodes_); ++n) {
    Node& node = nodes_[n];
    const bool train_layer = training && !frozen(n);  // a frozen layer runs as in evaluation
    node.layer->forward(*q, node.io, train_layer);
    if (train_layer && node.io.cut) q = train_segments_.back().get();  // the layer cut the step
    record_smoothing(*q, node, node.io.out, node.io.label + ".smooth");
  }
  return *q;
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

gpu::Program& Model::record_backward(gpu::Program& start, Pass pass) {
  const bool training = pass == Pass::Train;
  gpu::Program* q = &start;
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
    gpu::Program& p = *q;
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
    if (train_layer && node.io.cut) q = train_segments_.back().get();  // the layer cut the step
  }
  gpu::Program& p = *q;
  // The input's gradient: the sum of its readers' (probe models and attacks only).
  for (size_t k = 1; k < x_grad_parts_.size(); ++k)
    ops::record_add(p, x_grad_.size / 4, k == 1 ? x_grad_parts_[0] : x_grad_, x_grad_parts_[k], x_grad_,
                    "input.grad_sum." + std::to_string(k));
  return p;
}

std::string Model::plan_text() const {
  std::ostringstream s;
  s.precision(3);
  for (const gpu::Program* p : all_programs()) {
    s << "program " << p->name() << " (batch " << opts_.batch << ", recorded once per slot, "
      << opts_.slots << " slots):\n";
    for (const auto& d : p->dispatches()) {
      s << "  " << d.label << "  [" << d.kernel->name << "]\n";
      for (const auto& b : d.bindings)
        s << "      " << (b.access == gpu::Access::Read ? "reads  " : b.access == gpu::Access::Write ? "writes " : "updates")
          << " " << b.view.name << " (" << bytes_text(b.view.size) << ")\n";
    }
  }
  // Each op family's kernel choice and why (ops/kernel_policy.h).
  s << ops::KernelPolicy::of(ctx_).plan_text(ops::kernel_families(all_programs()));
  // Everything in the device arena that is not a parameter block is an
  // activation, gradient of an activation, workspace or statistic.
  const uint64_t fixed = params_.size + grads_.size + optim_state_.size + state_.size;
  s << "memory:\n  parameters " << param_floats_ << " values, " << bytes_text(params_.size)
    << "\n  gradients " << bytes_text(grads_.size) << "\n  optimizer state ("
    << ops::optimizer_name(opts_.optim.kind) << ": " << ops::optimizer_state_names(opts_.optim) << ") "
    << bytes_text(optim_state_.size) << "\n  layer state (running statistics, power-iteration vectors) "
    << bytes_text(state_.size) << "\n  activations, their gradients, workspaces and scratch (sharing bytes by liveness) "
    << bytes_text(device_->size() - std::min(fixed, device_->size())) << "\n  upload ring "
    << bytes_text(upload_->size()) << ", readback " << bytes_text(readback_->size()) << "\n  total "
    << bytes_text(device_->size() + upload_->size() + readback_->size()) << "\n";
  s << memory_text(memory_figures());
  return s.str();
}

std::string memory_text(const MemoryFigures& m) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(2);
  s << "device memory of a training step: " << bytes_text(m.total()) << " (arena " << bytes_text(m.device)
    << ", scratch " << bytes_text(m.scratch) << ") = " << m.ratio() << " x the "
    << bytes_text(m.needed()) << " training needs (parameters " << bytes_text(m.parameters)
    << ", gradients " << bytes_text(m.gradients) << ", optimizer state " << bytes_text(m.optimizer_state)
    << ", activations backward reads " << bytes_text(m.saved_activations) << ")\n";
  return s.str();
}

MemoryFigures Model::memory_figures() const {
  MemoryFigures m;
  m.parameters = params_.size;
  m.gradients = grads_.size;
  m.optimizer_state = optim_state_.size;
  m.layer_state = state_.size;
  m.device = device_->size();
  m.upload = upload_->size();
  m.readback = readback_->size();
  for (const gpu::Program* p : {train_.get(), eval_.get(), probe_.get(), jacobian_.get()})
    if (p) m.scratch += p->scratch_bytes();
  for (const auto& p : train_segments_) m.scratch += p->scratch_bytes();
  // Forward: the dispatches before the loss; backward: those after it (of
  // the first program only when synchronised BatchNorm cut the step: with
  // the loss in a later one, every dispatch of the first counts as both).
  size_t first = train_->dispatches().size(), last = 0;
  if (loss_.program == train_.get()) first = loss_.first, last = loss_.end;
  m.saved_activations = carried_bytes(*train_, *device_, first, last, {params_, grads_, optim_state_, state_});
  return m;
}

}  // namespace fovea::nn
