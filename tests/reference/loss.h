// loss reference: softmax cross-entropy with integer labels, mean over the
// valid rows of a (possibly partial) batch.
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

}  // namespace fovea::ref
