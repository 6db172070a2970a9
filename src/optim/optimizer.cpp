#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "util/error.h"

namespace fovea::ops {

namespace {

struct Entry {
  Optimizer kind;
  const char* name;
  double lr;
  std::vector<std::string> options;  // in the order the table and summaries show them
};

// torch.optim's defaults (PyTorch 1.13) live in optimizer_defaults; this
// names each optimizer and the options it reads.
const std::vector<Entry>& entries() {
  static const std::vector<Entry> e = {
      {Optimizer::Sgd, "sgd", 0.01, {"--momentum", "--weight-decay"}},
      {Optimizer::Nesterov, "nesterov", 0.01, {"--momentum", "--weight-decay"}},
      {Optimizer::Adagrad, "adagrad", 0.01, {"--eps", "--weight-decay"}},
      {Optimizer::RmsProp, "rmsprop", 0.01, {"--alpha", "--eps", "--momentum", "--centered", "--weight-decay"}},
      {Optimizer::Adadelta, "adadelta", 1.0, {"--rho", "--eps", "--weight-decay"}},
      {Optimizer::Adam, "adam", 1e-3, {"--beta1", "--beta2", "--eps", "--weight-decay"}},
      {Optimizer::AdamW, "adamw", 1e-3, {"--beta1", "--beta2", "--eps", "--weight-decay"}},
      {Optimizer::Adamax, "adamax", 2e-3, {"--beta1", "--beta2", "--eps", "--weight-decay"}},
      {Optimizer::NAdam, "nadam", 2e-3, {"--beta1", "--beta2", "--eps", "--momentum-decay", "--weight-decay"}},
      {Optimizer::AmsGrad, "amsgrad", 1e-3, {"--beta1", "--beta2", "--eps", "--weight-decay"}},
  };
  return e;
}

const Entry& entry(Optimizer k) {
  for (const Entry& e : entries())
    if (e.kind == k) return e;
  throw Error("internal: unknown optimizer " + std::to_string(uint32_t(k)));
}

double value_of(const OptimConfig& c, const std::string& option) {
  if (option == "--momentum") return c.momentum;
  if (option == "--weight-decay") return c.weight_decay;
  if (option == "--beta1") return c.beta1;
  if (option == "--beta2") return c.beta2;
  if (option == "--eps") return c.eps;
  if (option == "--alpha") return c.alpha;
  if (option == "--rho") return c.rho;
  if (option == "--momentum-decay") return c.momentum_decay;
  if (option == "--centered") return c.centered ? 1.0 : 0.0;
  throw Error("internal: unknown optimizer option " + option);
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The hyperparameter as the kernel holds it (a float32), widened again.
double f32(double v) { return double(float(v)); }

}  // namespace

const std::vector<Optimizer>& all_optimizers() {
  static const std::vector<Optimizer> all = [] {
    std::vector<Optimizer> v;
    for (const Entry& e : entries()) v.push_back(e.kind);
    return v;
  }();
  return all;
}

std::string optimizer_name(Optimizer k) { return entry(k).name; }

Optimizer parse_optimizer(const std::string& name) {
  std::string names;
  for (const Entry& e : entries()) {
    if (name == e.name) return e.kind;
    names += (names.empty() ? "" : ", ") + std::string(e.name);
  }
  throw Error("--optimizer must be one of " + names + "; got '" + name + "'");
}

OptimConfig optimizer_defaults(Optimizer k) {
  OptimConfig c;
  c.kind = k;
  c.momentum = k == Optimizer::Sgd || k == Optimizer::Nesterov ? 0.9 : 0.0;
  c.weight_decay = k == Optimizer::AdamW ? 0.01 : 0.0;
  c.eps = k == Optimizer::Adagrad ? 1e-10 : k == Optimizer::Adadelta ? 1e-6 : 1e-8;
  return c;
}

double default_lr(Optimizer k) { return entry(k).lr; }

std::vector<std::string> optimizer_options(Optimizer k) { return entry(k).options; }

std::vector<std::pair<std::string, double>> optimizer_hyperparameters(const OptimConfig& c) {
  std::vector<std::pair<std::string, double>> v;
  for (const std::string& o : entry(c.kind).options) {
    std::string name = o.substr(2);  // torch's name: "--weight-decay" -> "weight_decay"
    std::replace(name.begin(), name.end(), '-', '_');
    v.emplace_back(name, value_of(c, o));
  }
  return v;
}

std::string describe_optimizer(const OptimConfig& c) {
  std::string s = optimizer_name(c.kind) + " (";
  bool first = true;
  for (const auto& [name, value] : optimizer_hyperparameters(c)) {
    s += (first ? "" : ", ") + name + " " + (name == "centered" ? (value != 0 ? "on" : "off") : number(value));
    first = false;
  }
  return s + ")";
}

std::string optimizer_defaults_table() {
  std::string s =
      "Optimizers (--optimizer) and their defaults: torch.optim's, but sgd and nesterov keep\n"
      "momentum 0.9; an option an optimizer does not read is an error.\n";
  for (const Entry& e : entries()) {
    char head[48];
    std::snprintf(head, sizeof head, "  %-9s lr %-6g ", e.name, e.lr);
    s += head;
    bool first = true;
    for (const std::string& o : e.options) {
      s.append(first ? "" : ", ").append(o).append(" ");
      s.append(o == "--centered" ? std::string("off") : number(value_of(optimizer_defaults(e.kind), o)));
      first = false;
    }
    s += "\n";
  }
  return s;
}

void validate_optimizer(const OptimConfig& c) {
  auto require = [](bool ok, const std::string& option, const std::string& range, double v) {
    if (!ok) throw Error(option + " must be " + range + ", got " + number(v));
  };
  require(c.momentum >= 0 && c.momentum < 1, "--momentum", "in [0, 1)", c.momentum);
  if (c.kind == Optimizer::Nesterov && c.momentum == 0)
    throw Error("--momentum must be greater than 0 for --optimizer nesterov");
  require(c.weight_decay >= 0 && std::isfinite(c.weight_decay), "--weight-decay", "a number >= 0", c.weight_decay);
  require(c.beta1 >= 0 && c.beta1 < 1, "--beta1", "in [0, 1)", c.beta1);
  require(c.beta2 >= 0 && c.beta2 < 1, "--beta2", "in [0, 1)", c.beta2);
  require(c.eps >= 0 && std::isfinite(c.eps), "--eps", "a number >= 0", c.eps);
  require(c.alpha >= 0 && c.alpha <= 1, "--alpha", "in [0, 1]", c.alpha);
  require(c.rho >= 0 && c.rho <= 1, "--rho", "in [0, 1]", c.rho);
  require(c.momentum_decay >= 0 && std::isfinite(c.momentum_decay), "--momentum-decay", "a number >= 0",
          c.momentum_decay);
}

uint32_t optimizer_state_arrays(const OptimConfig& c) {
  switch (c.kind) {
    case Optimizer::Sgd:
    case Optimizer::Nesterov:
    case Optimizer::Adagrad:
      return 1;
    case Optimizer::RmsProp:
      return 1 + (c.centered ? 1 : 0) + (c.momentum > 0 ? 1 : 0);
    case Optimizer::AmsGrad:
      return 3;
    default:
      return 2;
  }
}

uint64_t optimizer_state_stride(uint64_t count) { return (count + 3) / 4 * 4; }

uint64_t optimizer_state_floats(const OptimConfig& c, uint64_t count) {
  return optimizer_state_arrays(c) * optimizer_state_stride(count);
}

std::string optimizer_state_names(const OptimConfig& c) {
  switch (c.kind) {
    case Optimizer::Sgd:
    case Optimizer::Nesterov:
      return "momentum_buffer";
    case Optimizer::Adagrad:
      return "sum";
    case Optimizer::RmsProp:
      return std::string("square_avg") + (c.centered ? ", grad_avg" : "") +
             (c.momentum > 0 ? ", momentum_buffer" : "");
    case Optimizer::Adadelta:
      return "square_avg, acc_delta";
    case Optimizer::Adamax:
      return "exp_avg, exp_inf";
    case Optimizer::AmsGrad:
      return "exp_avg, exp_avg_sq, max_exp_avg_sq";
    default:
      return "exp_avg, exp_avg_sq";
  }
}

double OptimCoefficients::mu(uint64_t t) const {
  return f32(c_.beta1) * (1.0 - 0.5 * std::pow(0.96, double(t) * f32(c_.momentum_decay)));
}

std::array<float, 4> OptimCoefficients::at(uint64_t t, double lr) {
  if (t == 0) throw Error("internal: optimizer steps count from 1");
  const double bc1 = 1.0 - std::pow(f32(c_.beta1), double(t));
  const double bc2 = 1.0 - std::pow(f32(c_.beta2), double(t));
  switch (c_.kind) {
    case Optimizer::Adam:
    case Optimizer::AmsGrad:
    case Optimizer::AdamW:
      return {float(lr / bc1), float(std::sqrt(bc2)), float(1.0 - lr * f32(c_.weight_decay)), 0.0f};
    case Optimizer::Adamax:
      return {float(lr / bc1), 0.0f, 0.0f, 0.0f};
    case Optimizer::NAdam: {
      if (t != t_ + 1) {  // not the next step: recompute the product from the start
        t_ = 0;
        prod_ = 1.0;
        while (t_ + 1 < t) prod_ *= mu(++t_);
      }
      const double mu_t = mu(t), mu_next = mu(t + 1);
      prod_ *= mu_t;
      t_ = t;
      const double prod_next = prod_ * mu_t * mu_next;  // PyTorch 1.13's single-tensor NAdam
      return {float(lr * (1.0 - mu_t) / (1.0 - prod_)), float(lr * mu_next / (1.0 - prod_next)),
              float(bc2), 0.0f};
    }
    default:
      return {0.0f, 0.0f, 0.0f, 0.0f};
  }
}

}  // namespace fovea::ops
