#include "reference/norm.h"

#include <cmath>

namespace fovea::ref {
namespace {

// One statistics group: the offsets of its values in x and the affine index
// of each.
struct Group {
  std::vector<uint64_t> at, param;
};

// The groups of s over the valid rows, in statistics-group order; a padding
// sample's groups stay empty.
std::vector<Group> groups_of(const NormSpec& s) {
  const uint64_t hw = uint64_t(s.height) * s.width, chw = s.channels * hw;
  std::vector<Group> g(norm_stat_groups(s));
  for (uint64_t n = 0; n < s.rows; ++n)
    for (uint64_t c = 0; c < s.channels; ++c)
      for (uint64_t i = 0; i < hw; ++i) {
        const uint64_t at = n * chw + c * hw + i;
        uint64_t k = 0, param = c;
        switch (s.kind) {
          case NormKind::Batch: k = c; break;
          case NormKind::Layer: k = n, param = c * hw + i; break;
          case NormKind::Instance: k = n * s.channels + c; break;
          case NormKind::Group: k = n * s.groups + c / (s.channels / s.groups); break;
        }
        g[k].at.push_back(at);
        g[k].param.push_back(param);
      }
  return g;
}

}  // namespace

uint64_t norm_stat_groups(const NormSpec& s) {
  switch (s.kind) {
    case NormKind::Batch: return s.channels;
    case NormKind::Layer: return s.batch;
    case NormKind::Instance: return uint64_t(s.batch) * s.channels;
    case NormKind::Group: return uint64_t(s.batch) * s.groups;
  }
  return 0;
}

uint64_t norm_affine_size(const NormSpec& s) {
  return s.kind == NormKind::Layer ? uint64_t(s.channels) * s.height * s.width : s.channels;
}

NormForward norm_forward(const NormSpec& s, const Tensor& x, const Tensor& gamma,
                         const Tensor& beta) {
  const auto groups = groups_of(s);
  const uint64_t S = groups.size();
  NormForward f{Tensor(x.size(), 0.0), Tensor(S, 0.0), Tensor(S, 1.0 / std::sqrt(s.eps)),
                Tensor(S, 0.0), Tensor(S, 0.0)};
  for (uint64_t k = 0; k < S; ++k) {
    const Group& g = groups[k];
    if (g.at.empty()) continue;
    const double n = double(g.at.size());
    double mean = 0, var = 0;
    for (uint64_t at : g.at) mean += x[at];
    mean /= n;
    for (uint64_t at : g.at) var += (x[at] - mean) * (x[at] - mean);
    var /= n;
    const double invstd = 1.0 / std::sqrt(var + s.eps);
    f.mean[k] = mean, f.var[k] = var, f.invstd[k] = invstd, f.count[k] = n;
    for (uint64_t i = 0; i < g.at.size(); ++i) {
      const double xhat = (x[g.at[i]] - mean) * invstd;
      f.y[g.at[i]] = gamma.empty() ? xhat : gamma[g.param[i]] * xhat + beta[g.param[i]];
    }
  }
  return f;
}

NormGrads norm_backward(const NormSpec& s, const Tensor& x, const Tensor& dy,
                        const Tensor& gamma) {
  const NormForward f = norm_forward(s, x, {}, {});  // y = xhat
  NormGrads r{Tensor(x.size(), 0.0), {}, {}};
  if (!gamma.empty()) r.dgamma = r.dbeta = Tensor(gamma.size(), 0.0);
  const auto groups = groups_of(s);
  for (uint64_t k = 0; k < groups.size(); ++k) {
    const Group& g = groups[k];
    if (g.at.empty()) continue;
    const double n = double(g.at.size());
    double mean_g = 0, mean_gx = 0;  // means of g = dy gamma and of g xhat
    for (uint64_t i = 0; i < g.at.size(); ++i) {
      const double gi = dy[g.at[i]] * (gamma.empty() ? 1.0 : gamma[g.param[i]]);
      mean_g += gi / n;
      mean_gx += gi * f.y[g.at[i]] / n;
      if (!gamma.empty()) {
        r.dgamma[g.param[i]] += dy[g.at[i]] * f.y[g.at[i]];
        r.dbeta[g.param[i]] += dy[g.at[i]];
      }
    }
    for (uint64_t i = 0; i < g.at.size(); ++i) {
      const double gi = dy[g.at[i]] * (gamma.empty() ? 1.0 : gamma[g.param[i]]);
      r.dx[g.at[i]] = f.invstd[k] * (gi - mean_g - f.y[g.at[i]] * mean_gx);
    }
  }
  return r;
}

Tensor batchnorm_forward_eval(const NormSpec& s, const Tensor& x, const Tensor& gamma,
                              const Tensor& beta, const Tensor& running_mean,
                              const Tensor& running_var) {
  const uint64_t hw = uint64_t(s.height) * s.width;
  Tensor y(x.size(), 0.0);
  for (uint64_t n = 0; n < s.rows; ++n)
    for (uint64_t c = 0; c < s.channels; ++c)
      for (uint64_t i = 0; i < hw; ++i) {
        const uint64_t at = (n * s.channels + c) * hw + i;
        const double xhat = (x[at] - running_mean[c]) / std::sqrt(running_var[c] + s.eps);
        y[at] = gamma.empty() ? xhat : gamma[c] * xhat + beta[c];
      }
  return y;
}

NormGrads batchnorm_backward_eval(const NormSpec& s, const Tensor& x, const Tensor& dy,
                                  const Tensor& gamma, const Tensor& running_mean,
                                  const Tensor& running_var) {
  const uint64_t hw = uint64_t(s.height) * s.width;
  NormGrads g;
  g.dx.assign(x.size(), 0.0);
  if (!gamma.empty()) g.dgamma.assign(s.channels, 0.0), g.dbeta.assign(s.channels, 0.0);
  for (uint64_t n = 0; n < s.rows; ++n)
    for (uint64_t c = 0; c < s.channels; ++c) {
      const double inv = 1.0 / std::sqrt(running_var[c] + s.eps);
      for (uint64_t i = 0; i < hw; ++i) {
        const uint64_t at = (n * s.channels + c) * hw + i;
        g.dx[at] = dy[at] * inv * (gamma.empty() ? 1.0 : gamma[c]);
        if (gamma.empty()) continue;
        g.dgamma[c] += dy[at] * (x[at] - running_mean[c]) * inv;
        g.dbeta[c] += dy[at];
      }
    }
  return g;
}

void batchnorm_update_running(const NormForward& f, double momentum, Tensor& running_mean,
                              Tensor& running_var) {
  for (uint64_t c = 0; c < running_mean.size(); ++c) {
    const double n = f.count[c];
    if (n <= 1) continue;  // PyTorch rejects such a batch; ops/norm.h skips the update
    running_mean[c] = (1 - momentum) * running_mean[c] + momentum * f.mean[c];
    running_var[c] = (1 - momentum) * running_var[c] + momentum * f.var[c] * n / (n - 1);
  }
}

}  // namespace fovea::ref
