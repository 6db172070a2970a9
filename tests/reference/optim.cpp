#include "reference/optim.h"

#include <algorithm>
#include <cmath>

namespace fovea::ref {

using ops::Optimizer;

namespace {

// The coefficients as the GPU reads them (float), in double.
struct Coef {
  double momentum, wd, b1, b2, eps, alpha, rho, psi, t;
};

void rmsprop_step(const ops::OptimConfig& c, const Coef& k, double lr, Tensor& p, const Tensor& g,
                  std::vector<Tensor>& a) {
  const double alpha = k.alpha, eps = k.eps, momentum = k.momentum;
  const std::size_t n = p.size();
  const std::size_t buf = c.centered ? 2 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    a[0][i] = alpha * a[0][i] + (1 - alpha) * g[i] * g[i];
    double avg;
    if (c.centered) {
      a[1][i] = alpha * a[1][i] + (1 - alpha) * g[i];
      avg = std::sqrt(a[0][i] - a[1][i] * a[1][i]) + eps;
    } else {
      avg = std::sqrt(a[0][i]) + eps;
    }
    if (momentum > 0) {
      a[buf][i] = momentum * a[buf][i] + g[i] / avg;
      p[i] -= lr * a[buf][i];
    } else {
      p[i] -= lr * g[i] / avg;
    }
  }
}

// Adam, AdamW (decoupled decay) and AMSGrad.
void adam_step(const ops::OptimConfig& c, const Coef& k, double lr, Tensor& p, const Tensor& g, std::vector<Tensor>& a) {
  const double b1 = k.b1, b2 = k.b2, eps = k.eps, wd = k.wd, t = k.t;
  const std::size_t n = p.size();
  const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
  for (std::size_t i = 0; i < n; ++i) {
    if (c.kind == Optimizer::AdamW) p[i] *= 1 - lr * wd;
    a[0][i] = b1 * a[0][i] + (1 - b1) * g[i];
    a[1][i] = b2 * a[1][i] + (1 - b2) * g[i] * g[i];
    double v = a[1][i];
    if (c.kind == Optimizer::AmsGrad) v = a[2][i] = std::max(a[2][i], v);
    p[i] -= lr / bc1 * a[0][i] / (std::sqrt(v) / std::sqrt(bc2) + eps);
  }
}

void nadam_step(const Coef& k, double lr, Tensor& p, const Tensor& g, std::vector<Tensor>& a, OptimState& s) {
  const double b1 = k.b1, b2 = k.b2, eps = k.eps, psi = k.psi, t = k.t;
  const std::size_t n = p.size();
  const double bc2 = 1 - std::pow(b2, t);
  const double mu = b1 * (1 - 0.5 * std::pow(0.96, t * psi));
  const double mu_next = b1 * (1 - 0.5 * std::pow(0.96, (t + 1) * psi));
  s.mu_product *= mu;
  // PyTorch 1.13's single-tensor NAdam: mu_product_next = mu_product * mu * mu_next.
  const double mu_product_next = s.mu_product * mu * mu_next;
  for (std::size_t i = 0; i < n; ++i) {
    a[0][i] = b1 * a[0][i] + (1 - b1) * g[i];
    a[1][i] = b2 * a[1][i] + (1 - b2) * g[i] * g[i];
    const double denom = std::sqrt(a[1][i] / bc2) + eps;
    p[i] -= lr * (1 - mu) / (1 - s.mu_product) * g[i] / denom;
    p[i] -= lr * mu_next / (1 - mu_product_next) * a[0][i] / denom;
  }
}

}  // namespace

void optimizer_step(const ops::OptimConfig& c, double lr, Tensor& p, const Tensor& grad, OptimState& s) {
  const std::size_t n = p.size();
  auto f = [](double v) { return double(float(v)); };
  const double momentum = f(c.momentum), wd = f(c.weight_decay), b1 = f(c.beta1), b2 = f(c.beta2),
               eps = f(c.eps), alpha = f(c.alpha), rho = f(c.rho), psi = f(c.momentum_decay);
  if (s.arrays.empty()) s.arrays.assign(ops::optimizer_state_arrays(c), Tensor(n, 0.0));
  const double t = double(++s.step);
  const Coef k{momentum, wd, b1, b2, eps, alpha, rho, psi, t};
  // g' = g + wd p (L2), except AdamW, which decays the weights instead.
  Tensor g = grad;
  if (c.kind != Optimizer::AdamW && wd != 0)
    for (std::size_t i = 0; i < n; ++i) g[i] += wd * p[i];
  std::vector<Tensor>& a = s.arrays;
  switch (c.kind) {
    case Optimizer::Sgd:
    case Optimizer::Nesterov:
      // buf = momentum buf + g' (torch's first buf = g' is the same from zeros)
      for (std::size_t i = 0; i < n; ++i) {
        a[0][i] = momentum * a[0][i] + g[i];
        p[i] -= lr * (c.kind == Optimizer::Nesterov ? g[i] + momentum * a[0][i] : a[0][i]);
      }
      break;
    case Optimizer::Adagrad:  // lr_decay 0: clr = lr
      for (std::size_t i = 0; i < n; ++i) {
        a[0][i] += g[i] * g[i];
        p[i] -= lr * g[i] / (std::sqrt(a[0][i]) + eps);
      }
      break;
    case Optimizer::RmsProp:
      rmsprop_step(c, k, lr, p, g, a);
      break;
    case Optimizer::Adadelta:
      for (std::size_t i = 0; i < n; ++i) {
        a[0][i] = rho * a[0][i] + (1 - rho) * g[i] * g[i];
        const double delta = std::sqrt(a[1][i] + eps) / std::sqrt(a[0][i] + eps) * g[i];
        a[1][i] = rho * a[1][i] + (1 - rho) * delta * delta;
        p[i] -= lr * delta;
      }
      break;
    case Optimizer::Adam:
    case Optimizer::AdamW:
    case Optimizer::AmsGrad:
      adam_step(c, k, lr, p, g, a);
      break;
    case Optimizer::Adamax: {
      const double bc1 = 1 - std::pow(b1, t);
      for (std::size_t i = 0; i < n; ++i) {
        a[0][i] = b1 * a[0][i] + (1 - b1) * g[i];
        a[1][i] = std::max(b2 * a[1][i], std::abs(g[i]) + eps);
        p[i] -= lr / bc1 * a[0][i] / a[1][i];
      }
      break;
    }
    case Optimizer::NAdam:
      nadam_step(k, lr, p, g, a, s);
      break;
  }
}

double penalty(const Tensor& p, double l1, double l2) {
  double a = 0, q = 0;
  for (double w : p) {
    a += std::abs(w);
    q += w * w;
  }
  return l1 * a + l2 / 2 * q;
}

void add_penalty_grad(const Tensor& p, double l1, double l2, Tensor& g) {
  for (size_t i = 0; i < p.size(); ++i) g[i] += l1 * double((p[i] > 0) - (p[i] < 0)) + l2 * p[i];
}

void clip_value(Tensor& g, double v) {
  for (double& x : g) x = std::min(std::max(x, -v), v);
}

double clip_norm(Tensor& g, double max_norm) {
  double sq = 0;
  for (double x : g) sq += x * x;
  const double norm = std::sqrt(sq);
  const double scale = std::min(1.0, max_norm / (norm + 1e-6));
  for (double& x : g) x *= scale;
  return norm;
}

}  // namespace fovea::ref
