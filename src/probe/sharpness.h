// The sharpness probe: the loss Hessian's top eigenvalues and trace, and the
// input-output Jacobian's Frobenius norm, of a model at its current weights,
// for the mean cross-entropy over a fixed set of images (the first N of the
// training file), with BatchNorm in evaluation mode and every random layer
// off (the model's probe program, src/nn/model.h).
//
// Hessian-vector products by central differences of GPU gradients:
//   H v ~ (g(theta + eps v) - g(theta - eps v)) / (2 eps),
//   eps = step * max(1, |theta|) / |v|,  step = kProbeStep by default,
// g the gradient of the mean loss over the images (the sum over batches of
// each batch's mean-loss gradient weighted by rows / N), computed in float32
// on the GPU, accumulated and differenced in double on the host. relu,
// leaky_relu and max pooling keep the pattern of theta in both gradients
// (Layer::has_pattern): without it every unit that crosses a kink inside the
// step adds a jump / (2 eps) and fashion_cnn's lambda_max came out 3.2x
// autograd's at step 1e-3 and 23x at 1e-5. With it the error is O(eps^2)
// from the third derivative plus float32 rounding of g over 2 eps: measured
// 6e-5 to 9e-5 relative on a small model against the exact Hessian
// (tests/gpu/sharpness_test.cpp), and lambda_max within 1e-4 of PyTorch's
// double backward on fashion_cnn (tools/sharpness_check.py). Kinks of
// other layers (elu/selu's derivative at 0, fractional max pooling's
// winners) are not frozen.
// All vector arithmetic (Lanczos, reorthogonalisation) is in double on the
// host: src/probe/spectrum.h.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/idx.h"
#include "gpu/kernel.h"
#include "nn/step_params.h"
#include "probe/spectrum.h"

namespace fovea::nn { class Model; }
namespace fovea::gpu { class Context; }

namespace fovea::train {

struct RunInfo;
class Session;

// Relative size of the finite-difference step (see above).
constexpr double kProbeStep = 1e-3;

struct SharpnessOptions {
  uint32_t images = 1024;          // the first N images of the training file
  std::string method = "lanczos";  // lanczos or power
  uint32_t top = 1;                // eigenvalues reported in "top" (Lanczos)
  double tolerance = 1e-3;         // relative change of the top eigenvalue(s) between iterations
  uint32_t max_iterations = 30;    // Lanczos steps or power iterations
  uint32_t trace_probes = 10;      // Hutchinson's Rademacher probes (0 = no trace)
  uint32_t jacobian_probes = 8;    // Rademacher probes over the logits per image (0 = no Jacobian)
  uint64_t seed = 0;               // start vector and probes
  double step = kProbeStep;        // relative finite-difference step (see above)
};

struct SharpnessResult {
  double lambda_max = 0;
  std::vector<double> top;  // descending
  double trace = 0, trace_se = 0;
  double jacobian_fro = 0;  // sqrt(mean over images of ||J(x)||_F^2), J = d logits / d standardised x
  uint32_t iterations = 0;  // Lanczos steps or power iterations
  bool converged = false;
  uint64_t hvps = 0;        // Hessian-vector products, all estimates together
  double loss = 0;          // mean cross-entropy at the weights
  uint32_t images = 0;
  double seconds = 0;
};

// The Hessian of the mean loss over `indices` of `set` at the model's
// current parameters, as an operator. The model must be built with
// ModelOptions::probe; `base` carries the step parameters of evaluation
// (feature_sigma of the run; blur and noise 0). The parameters are restored
// after every product.
class HessianProbe {
 public:
  HessianProbe(nn::Model& model, const data::ImageSet& set, std::vector<uint32_t> indices,
               const nn::StepParams& base, double step = kProbeStep);
  ~HessianProbe();
  size_t size() const { return theta_.size(); }
  // The gradient of the mean loss at theta + delta (delta empty: at theta).
  Vec gradient(const Vec& delta = {});
  void hvp(const Vec& v, Vec& out);
  MatVec as_operator() { return [this](const Vec& v, Vec& out) { hvp(v, out); }; }
  uint64_t products() const { return products_; }
  double loss() const { return loss_; }  // of the last gradient
  // Per image, the mean over `probes` Rademacher vectors u (over the logits)
  // of ||J(x)^T u||^2, an unbiased estimate of ||J(x)||_F^2.
  std::vector<double> jacobian_sq_norms(uint32_t probes, uint64_t seed);

 private:
  nn::Model& model_;
  const data::ImageSet& set_;
  std::vector<uint32_t> indices_;
  nn::StepParams base_;
  std::vector<float> theta_float_;
  Vec theta_;
  double theta_norm_ = 0, loss_ = 0, step_ = kProbeStep;
  uint64_t products_ = 0;
  std::unique_ptr<Session> session_;  // runs the probe programs
  void fill_batch(uint32_t slot, uint64_t first, uint32_t rows);  // indices_[first, first + rows) of set_
};

// Every estimate of the options at the model's current weights.
SharpnessResult probe_sharpness(nn::Model& model, const data::ImageSet& set, const nn::StepParams& base,
                                const SharpnessOptions& o);

// `fovea sharpness`: the run's final weights on the first o.images training
// images of data_dir ("" = the run's data).
SharpnessResult sharpness_of_run(gpu::Context& ctx, const RunInfo& run, const std::string& data_dir,
                                 const SharpnessOptions& o);

// One JSON object (one line): lambda_max, top, trace, trace_se,
// jacobian_fro, iterations, converged, hvps, loss, images, method, seconds.
std::string sharpness_json(const SharpnessResult& r, const SharpnessOptions& o);

// Throws fovea::Error naming the flag on a bad value.
void validate_sharpness_options(const SharpnessOptions& o);

}  // namespace fovea::train
