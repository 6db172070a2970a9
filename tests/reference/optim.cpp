#include "reference/optim.h"

namespace fovea::ref {

void sgd_step(const SgdConfig& c, Tensor& p, const Tensor& g, Tensor& buf) {
  Tensor d(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) d[i] = g[i] + c.weight_decay * p[i];
  if (c.momentum != 0.0) {
    if (buf.empty()) {
      buf = d;
    } else {
      for (std::size_t i = 0; i < p.size(); ++i) buf[i] = c.momentum * buf[i] + d[i];
    }
    for (std::size_t i = 0; i < p.size(); ++i) d[i] = c.nesterov ? d[i] + c.momentum * buf[i] : buf[i];
  }
  for (std::size_t i = 0; i < p.size(); ++i) p[i] -= c.lr * d[i];
}

}  // namespace fovea::ref
