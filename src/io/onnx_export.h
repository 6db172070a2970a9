// A trained model as an ONNX graph in evaluation mode (opset 13, IR 7),
// for ONNX Runtime, OpenCV's DNN module, Unity Sentis or Unreal NNE.
//
// Input "input": [batch, C, H, W] float32, already standardised per channel,
// (pixel / 255 - mean[c]) / std[c] (the mean and std are in the metadata and
// the doc string); output "logits": [batch, classes]. metadata_props also
// hold "spec" (the model spec) and "loss" (the training loss as JSON, e.g.
// {"label_smoothing":0.0,"type":"cross_entropy"}). The batch dimension is
// symbolic. Each layer becomes, in evaluation form:
//   conv2d -> Conv (weight_standardization and spectral_norm: the effective
//     weight computed here in double from the stored tensors, as the GPU's
//     evaluation step uses it: per-filter (w - mean) / sqrt(var + 1e-5), or
//     weight_orig / (u^T weight_orig v) with the stored u, v);
//   dense -> Gemm (transB = 1; spectral_norm as for conv2d), after Flatten
//     when the value is still [N, C, 1, 1];
//   conv_transpose2d -> ConvTranspose; flatten -> Flatten (axis 1);
//   reshape -> Reshape [-1, C, H, W]; maxpool2d -> MaxPool; avgpool2d ->
//     AveragePool (count_include_pad = 0), or with count_include_pad and
//     padding an explicit zero Pad + unpadded AveragePool (OpenCV 4.6
//     ignores the attribute); global_avgpool2d -> GlobalAveragePool
//     + Flatten; add -> Add (chained); concat -> Concat (axis 1);
//   batchnorm2d/1d -> BatchNormalization with the running statistics (kept
//     as its own node: exact evaluation semantics, one node per spec layer,
//     and every runtime folds it into the convolution itself);
//   instancenorm2d -> InstanceNormalization (scale 1, bias 0), then Mul/Add
//     by the weight and bias when affine (OpenCV 4.6 gets the node's own
//     scale wrong for batches over 1);
//   groupnorm -> Reshape [N, G, -1] + InstanceNormalization + Reshape back,
//     then Mul/Add by the per-channel weight and bias;
//   layernorm -> the same with one group (opset 13 has no
//     LayerNormalization), then Mul/Add by the elementwise weight and bias;
//   channel_shuffle -> Reshape [N, g, C / g, H W] + Transpose (0 2 1 3) +
//     Reshape back; squeeze_excitation -> GlobalAveragePool, Conv 1x1 (fc1),
//     Relu, Conv 1x1 (fc2), Sigmoid, Mul with the input;
//   aux heads (training only) are left out;
//   relu, leaky_relu, elu, selu (PyTorch's alpha and gamma), tanh, sigmoid
//     -> the ONNX op; gelu -> 0.5 x (1 + Erf(x / sqrt 2)); softplus ->
//     Softplus when beta = 1 and threshold = 20 (it differs from PyTorch's
//     identity above the threshold by log1p(exp(-x)) < 3e-9), else
//     Where(beta x > threshold, x, Softplus(beta x) / beta).
// A layer type with no evaluation form here is a fovea::Error naming it.
#pragma once
#include <string>
#include <vector>

#include "io/onnx.h"
#include "io/safetensors.h"
#include "nn/model_spec.h"

namespace fovea::io {

struct OnnxExportInput {
  const nn::ModelSpec* spec = nullptr;
  const SafetensorsFile* weights = nullptr;  // the model's tensors by state-dict name
  std::string weights_path;                  // for messages
  std::vector<double> mean, std;             // the input standardisation, per channel
  std::string producer_version;
};

// Throws fovea::Error naming the weights file and tensor for a missing or
// mis-sized tensor, and the layer for one that cannot be exported.
onnx::Model export_onnx(const OnnxExportInput& in);

}  // namespace fovea::io
