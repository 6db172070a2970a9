// A model on the device: its memory plan (parameters, gradients, optimizer
// state and activations as views of a few arenas) and the two recorded
// programs built from the spec's graph: the training step and the
// evaluation step.
//
//   train: decode -> augment (opts.augment; none by default) -> blur
//          (P.blur_sigma; opts.train_blur) -> forward (graph order)
//          -> the aux heads' layers (spec.aux; training only)
//          -> the spec's loss (softmax-xent with its label smoothing, or MSE / BCE
//             against one-hot labels; with mixup / cutmix: mixed targets), then
//             each aux head's softmax-xent, its gradient and per-row loss times
//             its weight (the per-row loss added to the main one)
//          -> metric sums -> backward (aux heads first, then reverse order; a
//             tensor read by several layers gets the sum of their
//             gradients) -> penalty gradients -> gradient clipping
//          (opts.regularize) -> optimizer step (opts.optim); data-parallel
//          (opts.data_parallel): split after the backward into train (...
//          -> backward -> gradients to the host) and update (the summed
//          gradients back -> penalties -> clipping -> optimizer step); with
//          opts.sync_bn the train part also has a host exchange mark
//          after each BatchNorm reduce (gpu::Program::part,
//          sync_exchanges()); frozen layers
//          (opts.frozen) run in evaluation mode, write no weight gradient
//          and the optimizer steps only the other layers' parameters
//          With an attack (opts.augment.adversarial, fgsm / pgd) the
//          input goes, after the blur, through `steps` passes of: forward
//          in evaluation mode (BatchNorm on its running statistics, not
//          updated; random layers the identity) -> the training loss ->
//          backward down to the input, no parameter gradient -> the
//          adversarial step (ops/adversarial.h) from the clean batch kept
//          in input.clean; the training forward then sees the result
//   eval:  decode -> blur (P.blur_sigma) -> noise (P.noise_std) -> forward
//          -> the loss (no gradient) -> metric sums
//          (-> a copy of the logits for the host, with opts.read_logits);
//          with opts.attack, the same attack as training's (the plain loss)
//          after the noise
//   probe (ModelOptions::probe only; the sharpness probe, src/probe/sharpness.h):
//          decode -> blur -> noise -> forward at the base parameters
//          (evaluation: BatchNorm on its running statistics, random layers
//          the identity), keeping the patterns of relu and max pooling (see
//          Layer::has_pattern) -> forward at the parameters with those
//          patterns -> the loss (gradient of the batch's mean loss) ->
//          metric sums -> backward in evaluation mode with the patterns,
//          down to the input -> parameter gradients (overwritten each step,
//          no penalty, no optimizer)
//   jacobian (probe only): the same forward -> dlogits = the host's vectors
//          (probe_vectors_ring()) -> backward in evaluation mode -> input_grad
//          = J^T v per image, J = d logits / d standardised input
// With feature smoothing, every conv2d's output is smoothed in place by the
// 3x3 Gaussian of P.feature_sigma (and its gradient by the same operator).
// All three sigmas are per-step parameters: 0 costs an empty dispatch.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/augment.h"
#include "gpu/memory.h"
#include "gpu/recorder.h"
#include "nn/layers.h"
#include "nn/memory_plan.h"
#include "nn/model_spec.h"
#include "nn/step_params.h"
#include "ops/metrics.h"
#include "ops/optim.h"

namespace fovea::nn {

struct ModelOptions {
  uint32_t batch = 128;
  uint32_t slots = 2;  // steps in flight
  ops::OptimConfig optim;  // the optimizer; its state lives on the GPU only
  ops::RegularizeConfig regularize;  // weight penalties (global; layers may override) and clipping
  std::vector<double> channel_mean;  // per input channel, of pixels / 255
  std::vector<double> channel_std;
  double blur_replay = 0;          // fraction of each training batch left unblurred
  // The training step records the input blur (two passes over the batch,
  // empty at sigma 0); the trainer turns it off when no sharpening schedule
  // is active, so a plain run pays nothing for it. Evaluation always has it.
  bool train_blur = true;
  bool feature_smoothing = false;  // smooth conv2d outputs by P.feature_sigma
  uint32_t noise_seed = 2021;      // evaluation noise (fixed: the same corruption every run)
  data::AugmentConfig augment;     // training batches only (seeded by P.seed, P.step)
  // The eval program attacks each batch first (fovea eval --fgsm / --pgd,
  // fovea train --test-fgsm); probability is ignored (always). Not with probe.
  data::AdversarialConfig attack;
  // The training loss's weight per class (torch.nn.CrossEntropyLoss(weight=
  // ...), ops/loss.h); empty = unweighted. Evaluation stays unweighted.
  std::vector<float> class_weights;
  // Pruning (`fovea prune`): per parameter tensor, by name, the entries
  // that stay 0 after every optimizer step, in the parameters and in the
  // optimizer's state (ops/prune.h). Empty = none.
  std::map<std::string, std::vector<uint32_t>> pruned;
  // The eval step also copies its logits [batch, classes] to logits_ring()
  // for the host (`fovea eval`); training never pays for it.
  bool read_logits = false;
  // Also record the probe and jacobian programs; every backward of this
  // model then also computes the gradient of the standardised input.
  bool probe = false;
  // Data-parallel training (src/dist): the training step is recorded as two
  // programs split at the gradient. train: ... -> backward -> a copy of the
  // gradients to gradients_out() (host-visible); the host sums them over the
  // ranks into gradients_in(); update: gradients_in() -> gradients ->
  // penalties -> clipping -> optimizer step.
  bool data_parallel = false;
  // Activations, their gradients, workspaces and scratch share device memory
  // where their lives do not overlap (nn/memory_plan.h); off: each keeps its
  // own bytes (the same results, more memory; for tests and debugging).
  bool share_memory = true;
  // Synchronised BatchNorm (--sync-bn; with data_parallel only): the
  // training step's BatchNorm statistics and backward sums span every
  // rank's rows. The training program then has a host exchange mark after
  // each BatchNorm reduce, which splits it into parts (gpu::Program::part;
  // sync_exchanges()).
  bool sync_bn = false;
  // Gradient accumulation (--accumulate N, TrainerOptions::accumulate): the
  // training step is recorded as two programs like data_parallel's, but the
  // sum stays on the device. train: ... -> backward -> accumulated +=
  // gradients (run once per micro-batch, P.loss_rows the rows of all N, so
  // the sum is the whole batch's gradient); update: gradients = accumulated
  // -> penalties -> clipping -> optimizer step -> accumulated = 0.
  // Not with data_parallel.
  bool accumulate = false;
  // Frozen layers (--freeze), one flag per spec layer (empty: none): their
  // parameters get no optimizer state, no weight gradient and no penalty,
  // and they run in evaluation mode (BatchNorm on its running statistics,
  // random layers the identity) in the training step too.
  std::vector<bool> frozen;
};

// One host exchange of a synchronised BatchNorm step (ModelOptions::sync_bn):
// after part i of train_program() (i = the exchange's index) the host reads
// this rank's partials [channels, chunks, 3] from `partials`, sums them over
// the ranks (src/dist/sync_bn.h) and writes the sums to `summed`, which part
// i + 1 reads. Forward exchanges come in layer order, then
// the backward ones in reverse.
struct SyncExchange {
  gpu::View partials, summed;  // readback and upload rings
  uint32_t channels = 0, chunks = 0;
  uint32_t plane = 0;          // H*W: values per row and channel
  bool backward = false;
  size_t layer = 0;            // which synchronised layer (0, 1, ... in graph order)
};

// One parameter tensor: where it lives in the parameter block.
struct ParamTensor {
  std::string name;  // "<layer>.weight": "1.weight" (a torch.nn.Sequential index) or "<name>.weight"
  Init init = Init::Uniform;
  std::vector<uint32_t> shape;
  uint64_t offset = 0;  // in floats, from the start of the block
  uint64_t count = 0;
  uint32_t fan_in = 0;  // inputs per output unit of its layer (initialisation)
};

// One penalised tensor: penalty = l1 sum|w| + (l2 / 2) sum w^2 over it.
// Weights of dense, conv2d and conv_transpose2d layers take the layer's
// "l1"/"l2" when the spec sets them, else the global values; biases and
// normalisation parameters only with penalize_biases (a layer's own values
// then cover its bias too). Tensors whose l1 and l2 are both 0 are left out.
struct PenaltyTerm {
  size_t tensor = 0;  // index into Model::tensors()
  double l1 = 0, l2 = 0;
};

// Non-trainable state saved with the weights ("4.running_mean", ...).
struct StateTensor {
  std::string name;
  std::vector<uint32_t> shape;
  uint64_t offset = 0;  // in floats, in the state block (unused for counters)
  uint64_t count = 0;
  float init = 0;
  bool host_counter = false;  // num_batches_tracked: the model's training steps
  bool unit_normal = false;   // initialised as normalize(randn(count))
  // A frozen layer's counter (--freeze) stays as loaded, like PyTorch's in
  // eval(): frozen_count, not the model's steps. (Last: the model builds
  // these by aggregate initialisation of the fields above.)
  bool frozen = false;
  uint64_t frozen_count = 0;
};

// The training step's device memory against what training cannot do
// without: parameters, their gradients, the optimizer's state and the
// activations backward reads (device bytes that a dispatch after the loss
// reads while they still hold what a dispatch before the loss wrote, each
// byte once; with im2col that includes the columns; nn::carried_bytes).
struct MemoryFigures {
  uint64_t parameters = 0, gradients = 0, optimizer_state = 0, layer_state = 0;
  uint64_t saved_activations = 0;
  uint64_t device = 0;   // the device arena: everything above, activations, their gradients, workspaces
  uint64_t scratch = 0;  // the programs' own scratch (split-K partials)
  uint64_t upload = 0, readback = 0;  // host-visible rings
  uint64_t needed() const { return parameters + gradients + optimizer_state + saved_activations; }
  uint64_t total() const { return device + scratch; }
  double ratio() const { return needed() ? double(total()) / double(needed()) : 0.0; }
};
// One line: the total, its parts, and the ratio to what training needs.
std::string memory_text(const MemoryFigures& m);

class Model {
 public:
  Model(gpu::Context& ctx, const ModelSpec& spec, const ModelOptions& opts);
  ~Model();

  // PyTorch's default initialisation from a seeded generator: weights
  // kaiming-uniform with a = sqrt(5), i.e. U(+-1/sqrt(fan_in)), biases
  // U(+-1/sqrt(fan_in)). Also zeroes gradients and optimizer state.
  void init_parameters(uint64_t seed);
  std::vector<float> download_parameters() const;
  // The gradients of the last training step (same layout as the parameters).
  std::vector<float> download_gradients() const;
  void upload_parameters(const std::vector<float>& values);
  const std::vector<ParamTensor>& tensors() const { return tensors_; }
  const std::vector<StateTensor>& state_tensors() const { return state_tensors_; }
  std::vector<float> download_state() const;
  void upload_state(const std::vector<float>& values);
  // The optimizer's state block (moments, accumulators), for checkpoints.
  std::vector<float> download_optimizer_state() const;
  void upload_optimizer_state(const std::vector<float>& values);
  // Training steps taken (BatchNorm's num_batches_tracked), counting those of
  // the weights the model started from.
  uint64_t batches_tracked() const { return batches_tracked_; }
  void set_batches_tracked(uint64_t n) { batches_tracked_ = n; }
  // A host counter's value as saved: frozen_count for a frozen layer's.
  uint64_t counter_value(const StateTensor& t) const { return t.frozen ? t.frozen_count : batches_tracked_; }
  // Sets state tensor i's counter (a frozen layer's own, else the model's).
  void set_counter(size_t i, uint64_t n) {
    if (state_tensors_[i].frozen) state_tensors_[i].frozen_count = n;
    else batches_tracked_ = n;
  }
  uint64_t parameter_count() const { return param_floats_; }
  const std::vector<PenaltyTerm>& penalty_terms() const { return penalty_terms_; }
  // The penalty of these parameters (download_parameters() layout), in double.
  double penalty(const std::vector<float>& params) const;

  const ModelSpec& spec() const { return spec_; }
  uint32_t batch() const { return opts_.batch; }
  uint32_t slots() const { return opts_.slots; }

  // The training step. With synchronised BatchNorm it has a host exchange
  // mark (gpu::Program::Mark) after each BatchNorm reduce: part i + 1 runs
  // after the host did sync_exchanges()[i].
  gpu::Program& train_program() { return *train_; }
  const std::vector<SyncExchange>& sync_exchanges() const { return sync_exchanges_; }
  gpu::Program& eval_program() { return *eval_; }
  gpu::Program& update_program();  // ModelOptions::data_parallel or accumulate only
  // f32 [parameter_count()] per slot (ModelOptions::data_parallel only): this
  // rank's gradients after the train program, and their sum over the ranks
  // before the update program.
  const gpu::View& gradients_out() const { return grads_out_; }
  const gpu::View& gradients_in() const { return grads_in_; }
  gpu::Program& probe_program();     // ModelOptions::probe only
  gpu::Program& jacobian_program();  // ModelOptions::probe only
  // The input gradient of the last probe or jacobian step, [batch, C, H, W].
  std::vector<float> download_input_gradient() const;
  // The probe program's base parameters (where the patterns are taken).
  void upload_base_parameters(const std::vector<float>& values);

  // Ring views the host fills before each step (slot = Replayer::acquire()).
  const gpu::View& images_ring() const { return images_; }  // u8 [batch, C, H, W]
  // u32 [batch]; when the augmentation mixes, followed by the step's
  // data::MixDraw (data::kMixWords words at [batch]) for the training step.
  const gpu::View& labels_ring() const { return labels_; }
  const gpu::View& params_ring() const { return step_params_; }
  const gpu::View& train_sums() const { return train_sums_; }  // ops::MetricSums per slot
  const gpu::View& eval_sums() const { return eval_sums_; }
  const gpu::View& logits_ring() const { return logits_ring_; }  // f32 [batch, classes] per slot
  const gpu::View& probe_sums() const { return probe_sums_; }     // the probe program's metric sums
  const gpu::View& probe_vectors_ring() const { return probe_vectors_; }  // f32 [batch, classes]: dlogits

  // The recorded step as text: each op with its buffers, then memory totals.
  std::string plan_text() const;
  MemoryFigures memory_figures() const;
  // Every view of the device arena with its size, place and life
  // (`fovea bench --memory`).
  std::string memory_listing() const;

 private:
  struct Node;
  // model.cpp: the whole build, in order.
  void build();
  // model_graph.cpp: the layer graph.
  void plan_graph();
  void add_node(size_t n);
  void wire_node(size_t n, const std::vector<size_t>& readers, size_t input_readers);
  void plan_trained_spans();
  uint64_t place_optimizer_state();  // each run's optimizer state offset; returns the floats of all
  // model_memory.cpp: the blocks, rings and views, the constants, the plan.
  void reserve_blocks();
  void plan_pruning();
  void reserve_rings();
  void bind_parameters();
  void upload_constants();
  void plan_memory();
  // model_programs.cpp: the program builders and the passes they record.
  std::unique_ptr<gpu::Program> new_program(const std::string& name);
  void record_programs();
  void record_train_step();
  void record_eval();
  void record_probe_programs();
  // What a recording is for; each program builder passes its own.
  //   Train:    training mode (frozen layers in evaluation mode), the aux
  //             heads, the training loss (class weights, mixed targets),
  //             parameter gradients
  //   Eval:     evaluation mode, the plain loss, no gradient
  //   Attack:   evaluation mode, the plain loss, backward down to the input
  //             only (no parameter gradient)
  //   Probe:    evaluation mode, the plain loss, backward with the kept
  //             patterns (Layer::has_pattern)
  //   Jacobian: evaluation mode, no loss (dlogits from the host), backward
  enum class Pass { Train, Eval, Attack, Probe, Jacobian };
  void record_input(gpu::Program& p, Pass pass);
  // Train and Eval run the program's attack first, if any.
  void record_forward(gpu::Program& p, Pass pass);
  // program: Train or Eval (whose loss, and whose attack settings).
  void record_attack(gpu::Program& p, const data::AdversarialConfig& a, Pass program);
  bool attacks() const { return opts_.augment.adversarial.any() || opts_.attack.any(); }
  void record_probe(gpu::Program& p);
  void record_backward(gpu::Program& p, Pass pass);
  // The spec's loss (model_spec.h) of the logits against the labels into
  // row_stats_, with dlogits unless pass is Eval; Train's is the training
  // loss: --class-weights weight it and mixup / cutmix mix its targets
  // (the other passes' stay unweighted and plain).
  void record_loss(gpu::Program& p, Pass pass, const std::string& label = "loss");
  // Each aux head's cross-entropy (training only): weight x its gradient into
  // the head's last node, weight x its per-row loss added to row_stats_.
  void record_aux_losses(gpu::Program& p);
  void record_update(gpu::Program& p);
  bool frozen(size_t layer) const { return layer < opts_.frozen.size() && opts_.frozen[layer]; }
  void plan_sync_bn();
  void find_sync_exchanges();
  std::vector<const gpu::Program*> all_programs() const;
  void record_smoothing(gpu::Program& p, const Node& node, const gpu::View& v, const std::string& label);

  gpu::Context& ctx_;
  ModelSpec spec_;
  ModelOptions opts_;
  std::unique_ptr<gpu::Arena> device_, upload_, readback_;
  std::vector<Node> nodes_;       // graph_'s nodes
  std::vector<LayerSpec> graph_;  // spec_.layers, then the aux heads' layers (inputs: node indices)
  size_t main_nodes_ = 0;         // spec_.layers.size(): the last main node gives the logits
  struct AuxRun {
    size_t last = 0;  // the head's last node
    double weight = 0;
    gpu::View stats;  // its per-row [loss, correct]
    std::string name;
  };
  std::vector<AuxRun> aux_;
  std::vector<ParamTensor> tensors_;
  std::vector<PenaltyTerm> penalty_terms_;
  uint64_t param_floats_ = 0;
  // The parameters the optimizer steps: runs of tensors of unfrozen layers
  // (all of the block, one run, when nothing is frozen), each with its own
  // optimizer state at state_offset (floats).
  struct TrainedSpan {
    uint64_t offset = 0, count = 0, state_offset = 0;
  };
  std::vector<TrainedSpan> trained_;
  std::vector<StateTensor> state_tensors_;
  uint64_t state_floats_ = 0;
  uint64_t batches_tracked_ = 0;
  gpu::View state_;
  gpu::View params_, grads_, optim_state_, stats_, x_, row_stats_, blur_scratch_, clip_norm_;
  gpu::View images_, labels_, step_params_, train_sums_, eval_sums_, logits_ring_;
  gpu::View class_weights_;  // [classes] floats (ModelOptions::class_weights)
  std::vector<uint32_t> pruned_;  // ModelOptions::pruned as indices into the parameter block
  gpu::View pruned_indices_;
  gpu::View x_grad_, probe_sums_, probe_vectors_, base_params_;  // probe only (x_grad_: or an attack)
  gpu::View x_clean_;                                               // an attack's clean batch
  gpu::View grads_out_, grads_in_;                                  // data_parallel only
  gpu::View grads_sum_, grads_zero_;                                // accumulate only
  std::vector<gpu::View> x_grad_parts_;            // one per reader of the input, when several
  std::unique_ptr<gpu::Program> train_, eval_, probe_, jacobian_, update_;
  std::vector<ViewLife> lives_;  // of device_'s views, as planned
  // The training loss's dispatches (the spec's loss and the aux heads'):
  // [loss_first_, loss_end_) of train_ (memory_figures()).
  size_t loss_first_ = 0, loss_end_ = 0;
  std::vector<SyncExchange> sync_exchanges_;
};

}  // namespace fovea::nn
