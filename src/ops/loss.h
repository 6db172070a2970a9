// loss: the training objectives, each writing per-row [loss, correct] stats
// ([batch, 2], the layout the metric sums read: their mean over valid rows is
// the loss PyTorch reports) and, with `gradient`, dL/d(prediction) of the
// mean loss. Rows >= P.rows are padding: loss 0, correct 0, gradient 0.
//   softmax_xent: fused softmax + cross-entropy with integer labels and
//                 optional label smoothing (CrossEntropyLoss)
//   mse_loss:     mean squared error against a float target (MSELoss)
//   bce_with_logits: binary cross-entropy on logits (BCEWithLogitsLoss)
#pragma once
#include "ops/common.h"

namespace fovea::ops {

// Three passes over the classes run in one invocation: 3 x 16384 stays under
// lavapipe's 65,535 loop iterations per invocation.
constexpr uint32_t kMaxClasses = 16384;

// logits [batch, classes]; labels u32 [batch]; dlogits [batch, classes]
// (written only with `gradient`); stats [batch, 2].
void record_softmax_xent(Program& p, uint32_t batch, uint32_t classes, const View& logits,
                         const View& labels, const View& dlogits, const View& stats, bool gradient,
                         const std::string& label);

// The same with label smoothing e in [0, 1): the target distribution is
// (1 - e) onehot(label) + e / classes, so per row
//   loss = -sum_k q_k log softmax(z)_k,  dlogits = (softmax(z) - q) / rows;
// correct stays argmax == label. e = 0 is the overload above.
void record_softmax_xent(Program& p, uint32_t batch, uint32_t classes, const View& logits,
                         const View& labels, const View& dlogits, const View& stats, bool gradient,
                         float label_smoothing, const std::string& label);

// The same with mixing (mixup / cutmix, src/data/augment.h): labels is u32
// [batch] followed by the data::MixDraw block (batch + data::kMixWords
// words) the host writes each step. When the block's mode is not 0, row
// b's target is (1 - e)(lam onehot(y_b) + (1 - lam) onehot(y_j)) + e /
// classes, j = (b + shift) mod rows, so loss = lam CE(y_b) + (1 - lam)
// CE(y_j) (smoothed alike) and dlogits = (softmax(z) - q) / rows; correct
// counts the label with the larger weight. Mode 0 is the plain loss.
void record_softmax_xent_mixed(Program& p, uint32_t batch, uint32_t classes, const View& logits,
                               const View& labels, const View& dlogits, const View& stats,
                               bool gradient, float label_smoothing, const std::string& label);

// Class weights (torch.nn.CrossEntropyLoss(weight=w), mean reduction): row
// b's terms weigh w[y_b] and the batch's loss divides by W = sum over its
// valid rows of w[y_b] instead of rows; with label smoothing e, torch's
// definition: (1 - e) sum_b w_yb (-log p_yb) / W + (e / classes) sum_b sum_k
// w_k (-log p_bk) / W. With `mix` (labels as for record_softmax_xent_mixed)
// a mixed row weighs lam w[y_b] on y_b and (1 - lam) w[y_j] on y_j, the
// usual lam CE_w(y_b) + (1 - lam) CE_w(y_j) (both divide by the same W: the
// partners are a permutation of the valid rows). stats' loss is row b's
// contribution times loss_divisor() / W, so its mean over the rows is the
// batch's weighted loss; correct as unweighted. dlogits = d(loss)/dz. A
// batch whose valid rows all weigh 0 (W = 0) gets loss and gradient 0.
// class_weights: [classes] floats >= 0 (the caller checks them). W is this
// batch's own sum: with several data-parallel ranks it is each rank's, not
// the global batch's. A first dispatch (loss/class_weights) copies labels,
// W, sum_k w_k and the weights into scratch, where the loss reads them.
void record_softmax_xent_weighted(Program& p, uint32_t batch, uint32_t classes, const View& logits,
                                  const View& labels, const View& class_weights, const View& dlogits,
                                  const View& stats, bool gradient, float label_smoothing, bool mix,
                                  const std::string& label);

// The element-wise losses loop over one row's features in slices of at most
// kLossSlice per invocation (lavapipe's loop budget); longer rows are split
// across workgroups and a second dispatch (loss/row_reduce) adds the slices
// in order. Up to kLossSlice slices: features <= 2^28.
constexpr uint32_t kLossSlice = 16384;

// y, target, dy: [batch, features]. Per valid row: loss = mean_f (y - t)^2,
// correct = 0; dy = 2 (y - t) / (rows * features) (MSELoss, mean reduction).
void record_mse_loss(Program& p, uint32_t batch, uint32_t features, const View& y,
                     const View& target, const View& dy, const View& stats, bool gradient,
                     const std::string& label);

// logits, target (probabilities in [0, 1]), dlogits: [batch, features]. Per
// valid row: loss = mean_f [max(z, 0) - z t + log(1 + exp(-|z|))] (the stable
// form of -t log sigmoid(z) - (1 - t) log(1 - sigmoid(z))), correct = 1 when
// every feature's z > 0 agrees with t > 0.5 (binary accuracy for one
// feature, exact match for several); dlogits = (sigmoid(z) - t) /
// (rows * features) (BCEWithLogitsLoss, mean reduction).
void record_bce_with_logits(Program& p, uint32_t batch, uint32_t features, const View& logits,
                            const View& target, const View& dlogits, const View& stats,
                            bool gradient, const std::string& label);

// The same two losses for a classifier against one-hot targets built from
// u32 labels [batch] in the kernel (target k of row b is [k == label[b]]):
// y and dy are [batch, classes], classes in 2..kMaxClasses, and correct = 1
// when the row's first maximum is at its label (argmax accuracy, as for
// softmax_xent). Loss and gradient as for the float-target forms.
enum class OnehotLoss { Mse, BceWithLogits };
void record_onehot_loss(Program& p, OnehotLoss kind, uint32_t batch, uint32_t classes, const View& y,
                        const View& labels, const View& dy, const View& stats, bool gradient,
                        const std::string& label);

}  // namespace fovea::ops
