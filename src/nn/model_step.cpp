// Model (nn/model.h), continued: the loss, the attack, the aux heads' losses
// and the update step it records, and synchronised BatchNorm's cuts.
#include <algorithm>
#include <cmath>

#include "data/split.h"
#include "gpu/context.h"
#include "nn/model.h"
#include "nn/model_node.h"
#include "ops/adversarial.h"
#include "ops/loss.h"
#include "ops/norm.h"
#include "ops/tensor.h"
#include "util/error.h"

namespace fovea::nn {

using gpu::View;

void Model::record_loss(gpu::Program& p, Pass pass, const std::string& label) {
  const uint32_t B = opts_.batch, C = spec_.classes;
  const bool gradient = pass != Pass::Eval, weighted = pass == Pass::Train;
  const bool mix = weighted && opts_.augment.mixing();
  const View& logits = nodes_[main_nodes_ - 1].io.out;
  const View& dlogits = nodes_[main_nodes_ - 1].io.dout;
  switch (spec_.loss.kind) {
    case LossKind::Mse:
    case LossKind::BceWithLogits:
      ops::record_onehot_loss(p, spec_.loss.kind == LossKind::Mse ? ops::OnehotLoss::Mse
                                                                  : ops::OnehotLoss::BceWithLogits,
                              B, C, logits, labels_, dlogits, row_stats_, gradient, label);
      break;
    case LossKind::CrossEntropy:
      if (weighted && class_weights_.valid())
        ops::record_softmax_xent_weighted(p, B, C, logits, labels_, class_weights_, dlogits, row_stats_, gradient,
                                          float(spec_.loss.label_smoothing), mix, label);
      else if (mix)
        ops::record_softmax_xent_mixed(p, B, C, logits, labels_, dlogits, row_stats_, gradient,
                                       float(spec_.loss.label_smoothing), label);
      else
        ops::record_softmax_xent(p, B, C, logits, labels_, dlogits, row_stats_, gradient,
                                 float(spec_.loss.label_smoothing), label);
      break;
  }
}

// The attack (model.h): the clean batch kept, then per step a forward and
// backward in evaluation mode down to the input and the adversarial step.
// Training differentiates its own loss (class weights, mixed targets);
// evaluation the plain one.
void Model::record_attack(gpu::Program& p, const data::AdversarialConfig& a, Pass program) {
  const bool training = program == Pass::Train;
  const ops::BatchShape shape{opts_.batch, spec_.channels, spec_.height, spec_.width};
  ops::record_copy(p, x_.size / 4, x_, x_clean_, "attack.clean");
  for (uint32_t s = 0; s < a.steps; ++s) {
    const std::string at = "attack." + std::to_string(s + 1);
    for (size_t n = 0; n < main_nodes_; ++n) {  // aux heads play no part in the attack
      Node& node = nodes_[n];
      node.layer->forward(p, node.io, false);
      record_smoothing(p, node, node.io.out, node.io.label + ".smooth");
    }
    record_loss(p, training ? Pass::Train : Pass::Attack, at + ".loss");
    record_backward(p, Pass::Attack);
    ops::AdversarialStep step;
    step.shape = shape;
    step.eps = float(a.eps);
    step.alpha = float(a.alpha());
    step.first = s == 0;
    step.probability = training ? float(a.probability) : 1.0f;
    ops::record_adversarial_step(p, step, stats_, x_clean_, x_grad_, x_, at + ".step");
  }
}

void Model::record_aux_losses(gpu::Program& p) {
  const uint32_t B = opts_.batch, C = spec_.classes;
  const bool mix = opts_.augment.mixing();
  for (AuxRun& a : aux_) {
    if (!a.stats.valid()) a.stats = device_->reserve("loss.aux." + a.name + ".rows", 8ull * B);
    const View& logits = nodes_[a.last].io.out;
    const View& dlogits = nodes_[a.last].io.dout;
    const std::string l = "loss.aux." + a.name;
    const float e = float(spec_.loss.label_smoothing), w = float(a.weight);
    if (class_weights_.valid())
      ops::record_softmax_xent_weighted(p, B, C, logits, labels_, class_weights_, dlogits, a.stats, true, e, mix, l);
    else if (mix)
      ops::record_softmax_xent_mixed(p, B, C, logits, labels_, dlogits, a.stats, true, e, l);
    else
      ops::record_softmax_xent(p, B, C, logits, labels_, dlogits, a.stats, true, e, l);
    ops::record_axpy(p, uint64_t(B) * C, 1, 0.0f, dlogits, w, dlogits, dlogits, l + ".weight");
    ops::record_axpy(p, B, 2, 1.0f, row_stats_, w, a.stats, row_stats_, l + ".add");
  }
}

// The step after the gradient: penalties, clipping, the optimizer.
void Model::record_update(gpu::Program& p) {
  // Penalties, then clipping (the penalty is part of the loss whose gradient
  // is clipped), then the step. Alignment gaps between tensors hold zero
  // gradients, so clipping the whole block is clipping every tensor.
  for (const PenaltyTerm& t : penalty_terms_) {
    const ParamTensor& pt = tensors_[t.tensor];
    ops::record_penalty_grad(p, params_, grads_, pt.offset, pt.count, t.l1, t.l2, "penalty." + pt.name);
  }
  if (opts_.regularize.clip_value > 0)
    ops::record_clip_value(p, grads_, param_floats_, opts_.regularize.clip_value, "clip_value");
  if (opts_.regularize.clip_norm > 0)
    ops::record_clip_norm(p, grads_, param_floats_, opts_.regularize.clip_norm, clip_norm_, "clip_norm");
  // Frozen layers' gradients stay zero (nothing writes them), so they do
  // not move the clipping norm; the optimizer steps the unfrozen runs only.
  const std::string name = ops::optimizer_name(opts_.optim.kind);
  if (trained_.size() == 1 && trained_[0].count == param_floats_) {
    ops::record_optimizer(p, param_floats_, opts_.optim, params_, grads_, optim_state_, name);
    return;
  }
  for (const TrainedSpan& t : trained_) {
    const std::string at = name + "." + std::to_string(t.offset);
    ops::record_optimizer(p, t.count, opts_.optim, params_.sub(t.offset * 4, t.count * 4, "parameters." + at),
                          grads_.sub(t.offset * 4, t.count * 4, "gradients." + at),
                          optim_state_.sub(t.state_offset * 4, ops::optimizer_state_floats(opts_.optim, t.count) * 4,
                                           at + ".state"),
                          at);
  }
}

// Synchronised BatchNorm: each training-mode BatchNorm layer gets a readback
// ring for its partials and an upload ring for their sums over the ranks;
// its training forward and backward mark a host exchange after its reduce.
void Model::plan_sync_bn() {
  for (size_t n = 0; n < main_nodes_; ++n) {
    const LayerType type = spec_.layers[n].type;
    if (type != LayerType::BatchNorm2d && type != LayerType::BatchNorm1d) continue;
    Io& io = nodes_[n].io;
    const Shape& in = io.in_shapes[0];
    const uint64_t bytes = 4 * ops::batchnorm_sync_floats(ops::NormShape{opts_.batch, in.c, in.h, in.w});
    io.sync_partials = readback_->reserve(io.label + ".sync.partials", bytes, opts_.slots);
    io.sync_summed = upload_->reserve(io.label + ".sync.summed", bytes, opts_.slots);
  }
}

// The training program's host exchange marks, as the host does them: each
// mark's tag is the BatchNorm layer's node, its value the partials' chunks.
void Model::find_sync_exchanges() {
  std::vector<size_t> synced;  // the nodes of the synchronised layers, in graph order
  for (size_t n = 0; n < main_nodes_; ++n)
    if (nodes_[n].io.sync_partials.valid()) synced.push_back(n);
  for (const gpu::Program::Mark& m : train_->marks()) {
    const Io& io = nodes_[m.tag].io;
    SyncExchange e;
    e.partials = io.sync_partials;
    e.summed = io.sync_summed;
    e.channels = io.in_shapes[0].c;
    e.chunks = m.value;
    e.plane = io.in_shapes[0].h * io.in_shapes[0].w;
    e.layer = size_t(std::find(synced.begin(), synced.end(), size_t(m.tag)) - synced.begin());
    for (const SyncExchange& f : sync_exchanges_) e.backward = e.backward || f.layer == e.layer;
    sync_exchanges_.push_back(e);
  }
}

}  // namespace fovea::nn
