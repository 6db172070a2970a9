#include "reference/max_drop.h"

#include <limits>

namespace fovea::ref {

// The group of element e (see max_drop.h).
static uint64_t group_of(const MaxDropShape& s, uint64_t e) {
  const uint64_t plane = uint64_t(s.height) * s.width;
  if (!s.across_channels) return e / plane;
  return e / (s.channels * plane) * plane + e % plane;
}

Tensor max_drop_maxima(const MaxDropShape& s, const Tensor& x) {
  const uint64_t plane = uint64_t(s.height) * s.width;
  const uint64_t groups = s.across_channels ? s.batch * plane : uint64_t(s.batch) * s.channels;
  Tensor m(groups, -std::numeric_limits<double>::infinity());
  for (uint64_t e = 0; e < x.size(); ++e) {
    double& best = m[group_of(s, e)];
    if (x[e] > best) best = x[e];
  }
  return m;
}

std::vector<uint8_t> max_drop_dropped(const MaxDropShape& s, const Tensor& x, const Tensor& u, float p) {
  const Tensor m = max_drop_maxima(s, x);
  std::vector<uint8_t> dropped(x.size());
  for (uint64_t e = 0; e < x.size(); ++e) dropped[e] = x[e] == m[group_of(s, e)] && u[e] < double(p);
  return dropped;
}

Tensor max_drop_apply(const Tensor& v, const std::vector<uint8_t>& dropped) {
  Tensor y(v.size());
  for (size_t e = 0; e < v.size(); ++e) y[e] = dropped[e] ? 0.0 : v[e];
  return y;
}

}  // namespace fovea::ref
