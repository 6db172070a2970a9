// loss reference: softmax cross-entropy with integer labels (optionally with
// label smoothing), mean squared error and binary cross-entropy on logits,
// each a mean over the valid rows of a (possibly partial) batch.
#pragma once
#include "reference/tensor.h"

namespace fovea::ref {

struct SoftmaxXent {
  Tensor loss;     // [batch]: log(sum_k exp z_k) - z_label; 0 for padding rows
  Tensor correct;  // [batch]: 1 when the first maximum of z is the label, else 0
  Tensor dlogits;  // [batch, classes]: (softmax(z) - onehot(label)) / rows; 0 for padding
};

// logits: [batch, classes], labels: [batch]; rows <= batch are valid.
SoftmaxXent softmax_xent(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                         const std::vector<uint32_t>& labels);

// The scalar the gradient differentiates: sum of loss over valid rows / rows.
double mean_xent(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                 const std::vector<uint32_t>& labels);

// With label smoothing e, from the definition: q_k = (1 - e) [k == label] +
// e / classes, loss = -sum_k q_k log softmax(z)_k, dlogits = (softmax(z) - q)
// / rows; correct as above.
SoftmaxXent softmax_xent(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                         const std::vector<uint32_t>& labels, double label_smoothing);
double mean_xent(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                 const std::vector<uint32_t>& labels, double label_smoothing);

// With mixing (mixup / cutmix), from the definition: row b's target is
// q_k = (1 - e)(lam [k == y_b] + (1 - lam) [k == y_j]) + e / classes, j =
// (b + shift) mod rows; correct: the first argmax is the label with the
// larger weight (y_b when lam >= 0.5).
SoftmaxXent softmax_xent_mixed(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                               const std::vector<uint32_t>& labels, double lam, uint32_t shift, double e);
double mean_xent_mixed(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                       const std::vector<uint32_t>& labels, double lam, uint32_t shift, double e);

// Class weights w (torch.nn.CrossEntropyLoss(weight=w, label_smoothing=e),
// mean reduction), from torch's definition: row b contributes
//   c_b = (1 - e) (lam w_yb (-log p_yb) + (1 - lam) w_yj (-log p_yj))
//         + (e / classes) sum_k w_k (-log p_k)
// (lam = 1 without mixing; j = (b + shift) mod rows) and the loss is
// sum_b c_b / W, W = sum over valid rows of w_yb. loss[b] = rows c_b / W (so
// the mean over valid rows is the batch's loss), dlogits = dc_b/dz / W; 0
// everywhere when W = 0. correct as above.
SoftmaxXent softmax_xent_weighted(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                                  const std::vector<uint32_t>& labels, const Tensor& weights, double e,
                                  double lam = 1.0, uint32_t shift = 0);
double mean_xent_weighted(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                          const std::vector<uint32_t>& labels, const Tensor& weights, double e,
                          double lam = 1.0, uint32_t shift = 0);

// Element-wise losses of a prediction against a float target, both
// [batch, features]; N = rows * features.
struct PointwiseLoss {
  Tensor loss;     // [batch]: mean over the row's features; 0 for padding rows
  Tensor correct;  // [batch]: see each function; 0 for padding rows
  Tensor grad;     // [batch, features]: d(mean loss)/d(prediction); 0 for padding
};

// l = (y - t)^2, grad 2 (y - t) / N, correct 0 (MSELoss, mean reduction).
PointwiseLoss mse_loss(uint32_t batch, uint32_t features, uint32_t rows, const Tensor& y,
                       const Tensor& t);

// l = -t log sigmoid(z) - (1 - t) log(1 - sigmoid(z)), written as
// (1 - t) z + softplus(-z); grad (sigmoid(z) - t) / N; correct 1 when every
// feature's z > 0 agrees with t > 0.5 (BCEWithLogitsLoss, mean reduction).
PointwiseLoss bce_with_logits(uint32_t batch, uint32_t features, uint32_t rows, const Tensor& z,
                              const Tensor& t);

// A classifier against one-hot labels: mse_loss or bce_with_logits (bce =
// true) of y [batch, classes] against t[b, k] = [k == labels[b]], with
// correct = 1 when the first maximum of row b is at its label.
PointwiseLoss onehot_loss(bool bce, uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& y,
                          const std::vector<uint32_t>& labels);

// The scalar a gradient differentiates: sum of loss over valid rows / rows.
double mean_rows(const Tensor& row_loss, uint32_t rows);

}  // namespace fovea::ref
