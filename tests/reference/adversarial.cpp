#include "reference/adversarial.h"

#include <algorithm>

namespace fovea::ref {

Tensor adversarial_step(const AdversarialShape& s, const Tensor& x0, const Tensor& from, const Tensor& g,
                        const Tensor& mean, const Tensor& stddev, double eps, double alpha) {
  Tensor out(x0.size());
  for (uint64_t b = 0; b < s.batch; ++b)
    for (uint64_t c = 0; c < s.channels; ++c)
      for (uint64_t i = 0; i < s.plane; ++i) {
        const uint64_t e = (b * s.channels + c) * s.plane + i;
        if (b >= s.rows) {
          out[e] = x0[e];
          continue;
        }
        const double p0 = x0[e] * stddev[c] + mean[c], p = from[e] * stddev[c] + mean[c];
        const double sign = g[e] > 0 ? 1.0 : g[e] < 0 ? -1.0 : 0.0;
        const double q = std::clamp(std::clamp(p + alpha * sign, p0 - eps, p0 + eps), 0.0, 1.0);
        out[e] = (q - mean[c]) / stddev[c];
      }
  return out;
}

}  // namespace fovea::ref
