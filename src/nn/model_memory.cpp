// Model (nn/model.h): its memory. The blocks (parameters, gradients,
// optimizer and layer state), the host rings, each node's parameter views,
// the constants uploaded once, and the plan that lays the device arena out
// by liveness over every program (nn/memory_plan.h), with its figures.
#include <algorithm>
#include <sstream>

#include "data/split.h"
#include "gpu/context.h"
#include "nn/memory_plan.h"
#include "nn/model.h"
#include "nn/model_node.h"
#include "ops/metrics.h"
#include "ops/optim.h"
#include "util/error.h"

namespace fovea::nn {

// The device blocks after the graph's activations: the blur's scratch, the
// parameters, state, gradients, optimizer state and the loss's buffers.
void Model::reserve_blocks() {
  const uint32_t B = opts_.batch;
  const uint64_t D = spec_.input_features();
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
}

// ModelOptions::pruned as indices into the parameter block.
void Model::plan_pruning() {
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
}

// The host-visible rings: what the host writes before a step and reads after.
void Model::reserve_rings() {
  const uint32_t B = opts_.batch;
  const uint64_t D = spec_.input_features();
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
}

// Each node's views of its parameters, gradients and state.
void Model::bind_parameters() {
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
}

// What the programs read but never write: zeroed gradients, the input's
// mean and 1/std, the class weights, the pruned indices.
void Model::upload_constants() {
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
  // Forward: the dispatches before the loss; backward: those after it.
  m.saved_activations =
      carried_bytes(*train_, *device_, loss_first_, loss_end_, {params_, grads_, optim_state_, state_});
  return m;
}

}  // namespace fovea::nn
