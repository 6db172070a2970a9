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

// The layer graph, the buffers, the programs recorded over them, then the
// memory plan that lays the device arena out by the programs' uses.
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
  reserve_blocks();
  plan_pruning();
  reserve_rings();
  bind_parameters();
  record_programs();
  plan_memory();
  device_->commit();
  upload_constants();
}

// Every recorded program, in the order a training step runs them: train
// (with its synchronised-BatchNorm parts), eval, probe, jacobian, update.
std::vector<const gpu::Program*> Model::all_programs() const {
  std::vector<const gpu::Program*> out{train_.get()};
  for (const gpu::Program* p : {eval_.get(), probe_.get(), jacobian_.get(), update_.get()})
    if (p) out.push_back(p);
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

std::string Model::plan_text() const {
  std::ostringstream s;
  s.precision(3);
  for (const gpu::Program* p : all_programs())
    for (size_t k = 0; k < p->part_count(); ++k) {
      const gpu::Program::Part part = p->part(k);
      s << "program " << part.name << " (batch " << opts_.batch << ", recorded once per slot, " << opts_.slots
        << " slots):\n";
      for (size_t i = part.first; i < part.end; ++i) {
        const gpu::Dispatch& d = p->dispatches()[i];
        s << "  " << d.label << "  [" << d.kernel->name << "]\n";
        for (const auto& b : d.bindings)
          s << "      "
            << (b.access == gpu::Access::Read ? "reads  " : b.access == gpu::Access::Write ? "writes " : "updates")
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

}  // namespace fovea::nn
