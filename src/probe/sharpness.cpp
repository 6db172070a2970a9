#include "probe/sharpness.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "data/idx.h"
#include "nn/model.h"
#include "train/evaluate.h"
#include "train/session.h"
#include "util/error.h"

namespace fovea::train {

HessianProbe::HessianProbe(nn::Model& model, const data::ImageSet& set, std::vector<uint32_t> indices,
                           const nn::StepParams& base, double step)
    : model_(model), set_(set), indices_(std::move(indices)), base_(base), step_(step) {
  if (indices_.empty()) throw Error("the sharpness probe needs at least 1 image");
  theta_float_ = model_.download_parameters();
  model_.upload_base_parameters(theta_float_);  // the patterns of relu and max pooling: at theta
  theta_.assign(theta_float_.begin(), theta_float_.end());
  theta_norm_ = std::sqrt(dot(theta_, theta_));
  SessionOptions so;
  so.training = false;
  session_ = std::make_unique<Session>(model_, so);
}

void HessianProbe::fill_batch(uint32_t slot, uint64_t first, uint32_t rows) {
  fill_from_set(model_, set_, indices_.data() + first, rows, slot);
}

HessianProbe::~HessianProbe() = default;

Vec HessianProbe::gradient(const Vec& delta) {
  if (!delta.empty()) {
    std::vector<float> shifted(theta_.size());
    for (size_t i = 0; i < shifted.size(); ++i) shifted[i] = float(theta_[i] + delta[i]);
    model_.upload_parameters(shifted);
  }
  zero_sums(model_.probe_sums(), model_.slots());
  Vec g(theta_.size(), 0.0);
  const double n = double(indices_.size());
  const FillRows fill = [this](uint32_t slot, uint64_t first, uint32_t rows) { fill_batch(slot, first, rows); };
  for (size_t first = 0; first < indices_.size(); first += model_.batch()) {
    const uint32_t rows = uint32_t(std::min<size_t>(model_.batch(), indices_.size() - first));
    session_->probe(Session::Probe::gradient, base_, first, rows, fill);
    // The batch's gradient is of its mean loss: weight it by rows / N.
    const std::vector<float> part = model_.download_gradients();
    const double w = rows / n;
    for (size_t i = 0; i < g.size(); ++i) g[i] += w * part[i];
  }
  loss_ = read_sums(model_.probe_sums(), model_.slots()).mean_loss();
  if (!delta.empty()) model_.upload_parameters(theta_float_);
  return g;
}

void HessianProbe::hvp(const Vec& v, Vec& out) {
  const double vn = std::sqrt(dot(v, v));
  out.assign(v.size(), 0.0);
  if (vn == 0) return;
  const double eps = step_ * std::max(1.0, theta_norm_) / vn;
  Vec d(v.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = eps * v[i];
  const Vec up = gradient(d);
  for (double& x : d) x = -x;
  const Vec down = gradient(d);
  for (size_t i = 0; i < out.size(); ++i) out[i] = (up[i] - down[i]) / (2 * eps);
  ++products_;
}

std::vector<double> HessianProbe::jacobian_sq_norms(uint32_t probes, uint64_t seed) {
  const uint32_t C = model_.spec().classes;
  const size_t D = model_.spec().input_features();
  std::vector<double> sq(indices_.size(), 0.0);
  for (size_t first = 0; first < indices_.size(); first += model_.batch()) {
    const uint32_t rows = uint32_t(std::min<size_t>(model_.batch(), indices_.size() - first));
    for (uint32_t k = 0; k < probes; ++k) {
      session_->probe(Session::Probe::jacobian, base_, first, rows, [&](uint32_t slot, uint64_t, uint32_t) {
        fill_batch(slot, first, rows);
        // u: +-1 per logit of the valid rows (image i, probe k: its own stream).
        auto* u = static_cast<float*>(model_.probe_vectors_ring().host(slot));
        std::memset(u, 0, size_t(model_.batch()) * C * 4);
        for (uint32_t r = 0; r < rows; ++r) {
          const Vec z = rademacher(C, seed + (uint64_t(first) + r) * probes + k);
          for (uint32_t c = 0; c < C; ++c) u[size_t(r) * C + c] = float(z[c]);
        }
      });
      const std::vector<float> dx = model_.download_input_gradient();
      for (uint32_t r = 0; r < rows; ++r) {
        double s = 0;
        for (size_t j = 0; j < D; ++j) s += double(dx[r * D + j]) * dx[r * D + j];
        sq[first + r] += s / probes;
      }
    }
  }
  return sq;
}

void validate_sharpness_options(const SharpnessOptions& o) {
  if (o.images == 0) throw Error("--images must be at least 1");
  if (o.method != "lanczos" && o.method != "power")
    throw Error("--method must be lanczos or power, got '" + o.method + "'");
  if (o.top == 0) throw Error("--top must be at least 1");
  if (o.method == "power" && o.top != 1) throw Error("--top " + std::to_string(o.top) + " needs --method lanczos");
  if (o.top > o.max_iterations)
    throw Error("--top " + std::to_string(o.top) + " is more than the " + std::to_string(o.max_iterations) +
                " iterations allowed (--max-iterations)");
  if (!(o.tolerance > 0 && o.tolerance < 1))
    throw Error("--tolerance " + std::to_string(o.tolerance) + " is not in (0, 1)");
  if (o.max_iterations == 0 || o.max_iterations > 1000) throw Error("--max-iterations must be in [1, 1000]");
  if (!(o.step > 0 && o.step <= 0.1)) throw Error("--step " + std::to_string(o.step) + " is not in (0, 0.1]");
}

SharpnessResult probe_sharpness(nn::Model& model, const data::ImageSet& set, const nn::StepParams& base,
                                const SharpnessOptions& o) {
  validate_sharpness_options(o);
  if (o.images > set.count)
    throw Error("--images " + std::to_string(o.images) + " is more than the " + std::to_string(set.count) +
                " training images in " + set.images_path);
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint32_t> indices(o.images);
  for (uint32_t i = 0; i < o.images; ++i) indices[i] = i;
  HessianProbe h(model, set, indices, base, o.step);
  SharpnessResult r;
  r.images = o.images;
  h.gradient();
  r.loss = h.loss();
  const SpectrumOptions so{o.top, o.tolerance, o.max_iterations, o.seed};
  const SpectrumResult s = o.method == "power" ? power_iteration(h.size(), h.as_operator(), so)
                                               : lanczos(h.size(), h.as_operator(), so);
  r.top = s.values;
  r.lambda_max = s.values.front();
  r.iterations = s.iterations;
  r.converged = s.converged;
  if (o.trace_probes > 0) {
    const TraceEstimate t = hutchinson_trace(h.size(), h.as_operator(), o.trace_probes, o.seed + 1000003);
    r.trace = t.mean;
    r.trace_se = t.standard_error;
  }
  if (o.jacobian_probes > 0) {
    double mean = 0;
    for (double x : h.jacobian_sq_norms(o.jacobian_probes, o.seed + 2000003)) mean += x / o.images;
    r.jacobian_fro = std::sqrt(mean);
  }
  r.hvps = h.products();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

SharpnessResult sharpness_of_run(gpu::Context& ctx, const RunInfo& run, const std::string& data_dir,
                                 const SharpnessOptions& o) {
  validate_sharpness_options(o);
  const data::Source ds = open_run_data(run, data_dir);
  nn::ModelOptions mo;
  mo.slots = 1;
  mo.probe = true;
  nn::StepParams base;
  // No larger than the probe's images: a model at the run's batch would
  // compute every padding row of a smaller probe set for nothing.
  const std::unique_ptr<nn::Model> model = load_run_model(ctx, run, mo, base, o.images);
  return probe_sharpness(*model, ds.train, base, o);
}

std::string sharpness_json(const SharpnessResult& r, const SharpnessOptions& o) {
  nlohmann::json j = {{"lambda_max", r.lambda_max},
                      {"top", r.top},
                      {"trace", o.trace_probes ? nlohmann::json(r.trace) : nlohmann::json()},
                      {"trace_se", o.trace_probes ? nlohmann::json(r.trace_se) : nlohmann::json()},
                      {"jacobian_fro", o.jacobian_probes ? nlohmann::json(r.jacobian_fro) : nlohmann::json()},
                      {"iterations", r.iterations},
                      {"converged", r.converged},
                      {"hvps", r.hvps},
                      {"loss", r.loss},
                      {"images", r.images},
                      {"method", o.method},
                      {"seconds", r.seconds}};
  return j.dump() + "\n";
}

}  // namespace fovea::train
