// Several trained models as one ONNX graph: an ensemble (`fovea export
// --runs`). Each member is exported as by export_onnx (io/onnx_export.h),
// its names prefixed "member<i>/", and the graph computes
//   probabilities = sum_i w_i softmax(logits_i)   (weights normalised to 1)
// Input "input": [batch, C, H, W] float32 standardised with the first
// member's mean and std (in the metadata and doc string); a member trained
// with another standardisation gets its own through a per-channel Mul and
// Add first. Output "probabilities": [batch, classes].
#pragma once
#include <vector>

#include "io/onnx.h"
#include "io/onnx_export.h"

namespace fovea::io {

// `members` and `weights` (normalised, one per member) of equal size, at
// least one; the members share the input shape and class count (the caller
// checks). `runs` names each member in the metadata. Throws as export_onnx.
onnx::Model export_onnx_ensemble(const std::vector<OnnxExportInput>& members, const std::vector<double>& weights,
                                 const std::vector<std::string>& runs);

}  // namespace fovea::io
