// Model::Node (nn/model.h), shared by the files that record the model.
#pragma once
#include <memory>
#include <vector>

#include "nn/layers.h"
#include "nn/model.h"

namespace fovea::nn {

// One node of the graph as recorded: its layer, shapes, buffers and the
// edges its gradient arrives through.
struct Model::Node {
  std::unique_ptr<Layer> layer;
  std::vector<size_t> params;  // indices into tensors_
  std::vector<size_t> state;   // indices into state_tensors_ (device ones)
  Io io;
  bool requires_grad = false;  // its output depends on parameters
  std::vector<gpu::View> grad_parts;  // gradient contributions to sum into io.dout
  size_t aux_parts = 0;               // how many of them (the last) come from aux heads
};

}  // namespace fovea::nn
