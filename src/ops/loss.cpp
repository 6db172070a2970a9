#include "ops/loss.h"

#include <cmath>

#include "data/augment.h"
#include "util/error.h"

namespace fovea::ops {
namespace {

// The loss/class_weights block the weighted kernel reads as its labels:
// the label words, W, S and the class weights.
View weight_block(Program& p, uint32_t batch, uint32_t classes, uint32_t words, const View& labels,
                  const View& class_weights, const std::string& label) {
  require_floats(class_weights, classes, label + " (class weights)");
  // One workgroup: each lane loops (words + rows + classes) / 64 times.
  if (uint64_t(words) + batch + classes > 64ull * 16384)
    throw Error(label + ": batch " + std::to_string(batch) + " is too large for the class-weighted loss");
  const View block = p.scratch(label + ".weights", (uint64_t(words) + 2 + classes) * 4);
  struct {
    uint32_t batch, K, words;
  } push{batch, classes, words};
  p.dispatch(label + ".weights", p.context().kernels().get("loss/class_weights"),
             {gpu::in(labels), gpu::in(class_weights), gpu::out(block)}, push, 1);
  return block;
}

void record_xent(Program& p, uint32_t batch, uint32_t classes, const View& logits, const View& labels,
                 const View& dlogits, const View& stats, bool gradient, float label_smoothing, bool mix,
                 const std::string& label, const View& class_weights = View{}) {
  if (classes < 2 || classes > kMaxClasses)
    throw Error(label + ": classes must be in 2.." + std::to_string(kMaxClasses));
  if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f))
    throw Error(label + ": label_smoothing must be in [0, 1), got " +
                std::to_string(label_smoothing));
  uint64_t n = uint64_t(batch) * classes;
  require_floats(logits, n, label);
  require_floats(labels, batch + (mix ? data::kMixWords : 0u), label);
  require_floats(dlogits, n, label);
  require_floats(stats, 2ull * batch, label);
  const bool weighted = class_weights.valid();
  const uint32_t words = batch + (mix ? data::kMixWords : 0u);
  const View targets = weighted ? weight_block(p, batch, classes, words, labels, class_weights, label) : labels;
  const uint32_t spec[] = {gradient ? 1u : 0u, mix ? 1u : 0u, weighted ? 1u : 0u};
  const auto& k = p.context().kernels().get("loss/softmax_xent", spec);
  struct {
    uint32_t batch, K;
    float smoothing;
    uint32_t words;
  } push{batch, classes, label_smoothing, words};
  // Declared as written in both modes: the kernel's binding is writable, and
  // synchronisation validation judges by the declaration.
  p.dispatch(label, k, {gpu::in(logits), gpu::in(targets), gpu::out(dlogits), gpu::out(stats)}, push,
             ceil_div(batch, 64));
}

}  // namespace

void record_softmax_xent(Program& p, uint32_t batch, uint32_t classes, const View& logits,
                         const View& labels, const View& dlogits, const View& stats, bool gradient,
                         const std::string& label) {
  record_softmax_xent(p, batch, classes, logits, labels, dlogits, stats, gradient, 0.0f, label);
}

void record_softmax_xent(Program& p, uint32_t batch, uint32_t classes, const View& logits,
                         const View& labels, const View& dlogits, const View& stats, bool gradient,
                         float label_smoothing, const std::string& label) {
  record_xent(p, batch, classes, logits, labels, dlogits, stats, gradient, label_smoothing, false, label);
}

void record_softmax_xent_mixed(Program& p, uint32_t batch, uint32_t classes, const View& logits,
                               const View& labels, const View& dlogits, const View& stats,
                               bool gradient, float label_smoothing, const std::string& label) {
  record_xent(p, batch, classes, logits, labels, dlogits, stats, gradient, label_smoothing, true, label);
}

void record_softmax_xent_weighted(Program& p, uint32_t batch, uint32_t classes, const View& logits,
                                  const View& labels, const View& class_weights, const View& dlogits,
                                  const View& stats, bool gradient, float label_smoothing, bool mix,
                                  const std::string& label) {
  if (!class_weights.valid()) throw Error(label + ": the class-weighted loss needs its class weights");
  record_xent(p, batch, classes, logits, labels, dlogits, stats, gradient, label_smoothing, mix, label,
              class_weights);
}

namespace {

enum class Pointwise : uint32_t { Mse = 0, BceWithLogits = 1 };

// onehot: `target` is u32 labels [batch] and features are the classes.
void record_pointwise(Program& p, Pointwise kind, uint32_t batch, uint32_t features, const View& y,
                      const View& target, const View& dy, const View& stats, bool gradient,
                      const std::string& label, bool onehot = false) {
  if (batch == 0 || features == 0) throw Error(label + ": empty batch or no features");
  if (onehot && (features < 2 || features > kMaxClasses))
    throw Error(label + ": classes must be in 2.." + std::to_string(kMaxClasses));
  const uint64_t n = uint64_t(batch) * features;
  // The kernels index with 32-bit integers.
  if (n > UINT32_MAX)
    throw Error(label + ": batch x features = " + std::to_string(n) + " is more than 2^32 - 1");
  const uint32_t slices = ceil_div(features, kLossSlice);
  if (slices > kLossSlice)
    throw Error(label + ": " + std::to_string(features) + " features per row is more than 2^28");
  require_floats(y, n, label);
  require_floats(target, onehot ? batch : n, label);
  require_floats(dy, n, label);
  require_floats(stats, 2ull * batch, label);
  // One slice writes the stats directly; several write partials to scratch.
  const View out =
      slices > 1 ? p.scratch(label + ".partials", uint64_t(batch) * slices * 2 * 4) : stats;
  const uint32_t spec[] = {uint32_t(kind), gradient ? 1u : 0u, onehot ? 1u : 0u};
  struct {
    uint32_t batch, F, chunk, slices;
  } push{batch, features, kLossSlice, slices};
  // dy is declared written in both modes, as for softmax_xent.
  p.dispatch(label, p.context().kernels().get("loss/pointwise", spec),
             {gpu::in(y), gpu::in(target), gpu::out(dy), gpu::out(out)}, push, ceil_div(batch, 64),
             slices);
  if (slices == 1) return;
  struct {
    uint32_t batch, F, slices, kind;
  } reduce{batch, features, slices, uint32_t(kind)};
  p.dispatch(label + ".reduce", p.context().kernels().get("loss/row_reduce"),
             {gpu::in(out), gpu::out(stats)}, reduce, ceil_div(batch, 64));
}

}  // namespace

void record_mse_loss(Program& p, uint32_t batch, uint32_t features, const View& y,
                     const View& target, const View& dy, const View& stats, bool gradient,
                     const std::string& label) {
  record_pointwise(p, Pointwise::Mse, batch, features, y, target, dy, stats, gradient, label);
}

void record_bce_with_logits(Program& p, uint32_t batch, uint32_t features, const View& logits,
                            const View& target, const View& dlogits, const View& stats,
                            bool gradient, const std::string& label) {
  record_pointwise(p, Pointwise::BceWithLogits, batch, features, logits, target, dlogits, stats,
                   gradient, label);
}

void record_onehot_loss(Program& p, OnehotLoss kind, uint32_t batch, uint32_t classes, const View& y,
                        const View& labels, const View& dy, const View& stats, bool gradient,
                        const std::string& label) {
  record_pointwise(p, kind == OnehotLoss::Mse ? Pointwise::Mse : Pointwise::BceWithLogits, batch, classes, y,
                   labels, dy, stats, gradient, label, true);
}

}  // namespace fovea::ops
