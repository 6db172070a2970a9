#include "reference/loss.h"

#include <cmath>
#include <functional>
#include <utility>
#include <vector>

namespace fovea::ref {

SoftmaxXent softmax_xent(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                         const std::vector<uint32_t>& labels) {
  SoftmaxXent r{Tensor(batch, 0.0), Tensor(batch, 0.0), Tensor(uint64_t(batch) * classes, 0.0)};
  for (uint64_t b = 0; b < rows && b < batch; ++b) {
    const double* z = &logits[b * classes];
    uint32_t arg = 0;  // first maximum, like torch.argmax
    for (uint32_t k = 1; k < classes; ++k)
      if (z[k] > z[arg]) arg = k;
    const double m = z[arg];
    double s = 0.0;
    for (uint32_t k = 0; k < classes; ++k) s += std::exp(z[k] - m);
    const uint32_t y = labels[b];
    r.loss[b] = std::log(s) + m - z[y];
    r.correct[b] = arg == y ? 1.0 : 0.0;
    for (uint32_t k = 0; k < classes; ++k)
      r.dlogits[b * classes + k] = (std::exp(z[k] - m) / s - (k == y ? 1.0 : 0.0)) / rows;
  }
  return r;
}

double mean_xent(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                 const std::vector<uint32_t>& labels) {
  return mean_rows(softmax_xent(batch, classes, rows, logits, labels).loss, rows);
}

namespace {

// Cross-entropy against the target distribution q(b, k), from the
// definition; correct[b] = first argmax == heavy[b].
SoftmaxXent xent_against(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                         const std::function<double(uint64_t, uint32_t)>& q,
                         const std::vector<uint32_t>& heavy) {
  SoftmaxXent r{Tensor(batch, 0.0), Tensor(batch, 0.0), Tensor(uint64_t(batch) * classes, 0.0)};
  for (uint64_t b = 0; b < rows && b < batch; ++b) {
    const double* z = &logits[b * classes];
    uint32_t arg = 0;
    double m = z[0];
    for (uint32_t k = 1; k < classes; ++k)
      if (z[k] > z[arg]) arg = k, m = z[k];
    double s = 0.0;
    for (uint32_t k = 0; k < classes; ++k) s += std::exp(z[k] - m);
    const double log_s = std::log(s);
    double loss = 0.0;
    for (uint32_t k = 0; k < classes; ++k) {
      const double log_p = z[k] - m - log_s;  // log softmax
      loss -= q(b, k) * log_p;
      r.dlogits[b * classes + k] = (std::exp(log_p) - q(b, k)) / rows;
    }
    r.loss[b] = loss;
    r.correct[b] = arg == heavy[b] ? 1.0 : 0.0;
  }
  return r;
}

}  // namespace

SoftmaxXent softmax_xent(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                         const std::vector<uint32_t>& labels, double e) {
  auto q = [&](uint64_t b, uint32_t k) { return (k == labels[b] ? 1.0 - e : 0.0) + e / classes; };
  return xent_against(batch, classes, rows, logits, q, labels);
}

SoftmaxXent softmax_xent_mixed(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                               const std::vector<uint32_t>& labels, double lam, uint32_t shift, double e) {
  std::vector<uint32_t> partner(batch), heavy(batch);
  for (uint32_t b = 0; b < batch; ++b) {
    partner[b] = labels[(b + shift) % rows];
    heavy[b] = lam >= 0.5 ? labels[b] : partner[b];
  }
  auto q = [&](uint64_t b, uint32_t k) {
    return (1 - e) * ((k == labels[b] ? lam : 0.0) + (k == partner[b] ? 1 - lam : 0.0)) + e / classes;
  };
  return xent_against(batch, classes, rows, logits, q, heavy);
}

double mean_xent_mixed(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                       const std::vector<uint32_t>& labels, double lam, uint32_t shift, double e) {
  return mean_rows(softmax_xent_mixed(batch, classes, rows, logits, labels, lam, shift, e).loss, rows);
}

double mean_xent(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                 const std::vector<uint32_t>& labels, double label_smoothing) {
  return mean_rows(softmax_xent(batch, classes, rows, logits, labels, label_smoothing).loss, rows);
}

SoftmaxXent softmax_xent_weighted(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                                  const std::vector<uint32_t>& labels, const Tensor& weights, double e,
                                  double lam, uint32_t shift) {
  SoftmaxXent r{Tensor(batch, 0.0), Tensor(batch, 0.0), Tensor(uint64_t(batch) * classes, 0.0)};
  double W = 0.0;
  for (uint32_t b = 0; b < rows; ++b) W += weights[labels[b]];
  if (W == 0.0) return r;
  for (uint32_t b = 0; b < rows && b < batch; ++b) {
    const double* z = &logits[uint64_t(b) * classes];
    uint32_t arg = 0;
    for (uint32_t k = 1; k < classes; ++k)
      if (z[k] > z[arg]) arg = k;
    double s = 0.0;
    for (uint32_t k = 0; k < classes; ++k) s += std::exp(z[k] - z[arg]);
    auto log_p = [&](uint32_t k) { return z[k] - z[arg] - std::log(s); };
    const uint32_t y = labels[b], y2 = labels[(b + shift) % rows];
    // The targets with their coefficients in c_b: (class, coefficient of -log p).
    std::vector<std::pair<uint32_t, double>> terms = {{y, (1 - e) * lam * weights[y]},
                                                      {y2, (1 - e) * (1 - lam) * weights[y2]}};
    for (uint32_t k = 0; k < classes; ++k) terms.push_back({k, e / classes * weights[k]});
    double c = 0.0;
    for (const auto& [k, a] : terms) {
      c -= a * log_p(k);
      // d(-log p_k)/dz_j = p_j - [j == k]
      for (uint32_t j = 0; j < classes; ++j)
        r.dlogits[uint64_t(b) * classes + j] += a * (std::exp(log_p(j)) - (j == k ? 1.0 : 0.0)) / W;
    }
    r.loss[b] = rows * c / W;
    r.correct[b] = arg == (lam >= 0.5 ? y : y2) ? 1.0 : 0.0;
  }
  return r;
}

double mean_xent_weighted(uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& logits,
                          const std::vector<uint32_t>& labels, const Tensor& weights, double e, double lam,
                          uint32_t shift) {
  return mean_rows(softmax_xent_weighted(batch, classes, rows, logits, labels, weights, e, lam, shift).loss,
                   rows);
}

PointwiseLoss mse_loss(uint32_t batch, uint32_t features, uint32_t rows, const Tensor& y,
                       const Tensor& t) {
  PointwiseLoss r{Tensor(batch, 0.0), Tensor(batch, 0.0), Tensor(uint64_t(batch) * features, 0.0)};
  const double n = double(rows) * features;
  for (uint64_t b = 0; b < rows && b < batch; ++b) {
    double s = 0.0;
    for (uint64_t i = b * features; i < (b + 1) * features; ++i) {
      const double d = y[i] - t[i];
      s += d * d;
      r.grad[i] = 2.0 * d / n;
    }
    r.loss[b] = s / features;
  }
  return r;
}

PointwiseLoss bce_with_logits(uint32_t batch, uint32_t features, uint32_t rows, const Tensor& z,
                              const Tensor& t) {
  PointwiseLoss r{Tensor(batch, 0.0), Tensor(batch, 0.0), Tensor(uint64_t(batch) * features, 0.0)};
  const double n = double(rows) * features;
  // softplus(u) = log(1 + exp(u)) without overflow
  auto softplus = [](double u) {
    return u > 0 ? u + std::log1p(std::exp(-u)) : std::log1p(std::exp(u));
  };
  for (uint64_t b = 0; b < rows && b < batch; ++b) {
    double s = 0.0;
    bool all_agree = true;
    for (uint64_t i = b * features; i < (b + 1) * features; ++i) {
      // -t log sigmoid(z) - (1 - t) log(1 - sigmoid(z)) = (1 - t) z + softplus(-z)
      s += (1.0 - t[i]) * z[i] + softplus(-z[i]);
      r.grad[i] = (1.0 / (1.0 + std::exp(-z[i])) - t[i]) / n;
      all_agree = all_agree && (z[i] > 0) == (t[i] > 0.5);
    }
    r.loss[b] = s / features;
    r.correct[b] = all_agree ? 1.0 : 0.0;
  }
  return r;
}

PointwiseLoss onehot_loss(bool bce, uint32_t batch, uint32_t classes, uint32_t rows, const Tensor& y,
                          const std::vector<uint32_t>& labels) {
  Tensor t(uint64_t(batch) * classes, 0.0);
  for (uint64_t b = 0; b < batch; ++b) t[b * classes + labels[b]] = 1.0;
  PointwiseLoss r = bce ? bce_with_logits(batch, classes, rows, y, t)
                        : mse_loss(batch, classes, rows, y, t);
  for (uint64_t b = 0; b < batch; ++b) {
    uint32_t arg = 0;
    for (uint32_t k = 1; k < classes; ++k)
      if (y[b * classes + k] > y[b * classes + arg]) arg = k;
    r.correct[b] = b < rows && arg == labels[b] ? 1.0 : 0.0;
  }
  return r;
}

double mean_rows(const Tensor& row_loss, uint32_t rows) {
  double s = 0.0;
  for (uint32_t b = 0; b < rows; ++b) s += row_loss[b];
  return s / rows;
}

}  // namespace fovea::ref
