// Synchronised BatchNorm's host arithmetic (src/dist/sync_bn.h): the
// shifted partials of several "ranks", moved to a common shift and added,
// give the statistics and backward sums of all their values; a rank with no
// values adds nothing, whatever its shift holds. (The exchange over real
// ranks is tested by the `cli: mpirun data-parallel` script.)
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "dist/sync_bn.h"

namespace fovea::test {

namespace {
// norm/reduce's partials of one channel, in float, `chunk` values per chunk:
// (sum (x - s), sum (x - s)^2) forward, (sum dy, sum dy (x - s)) backward,
// s = x[0].
std::vector<float> partials(const std::vector<float>& x, const std::vector<float>& dy, size_t chunk,
                            bool backward) {
  std::vector<float> p;
  const float s = x[0];
  for (size_t k = 0; k < x.size(); k += chunk) {
    float a = 0, b = 0;
    for (size_t i = k; i < std::min(x.size(), k + chunk); ++i) {
      const float v = x[i] - s;
      a += backward ? dy[i] : v;
      b += backward ? dy[i] * v : v * v;
    }
    p.insert(p.end(), {a, b, s});
  }
  return p;
}
}  // namespace

TEST_CASE("sync-bn: ranks' shifted partials add up to the whole batch's sums", "[cpu][dist]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> data(40.0f, 0.3f), grad(0.0f, 1.0f);
  const size_t sizes[] = {700, 333, 0};  // the last rank has an empty shard
  const size_t chunk = 64;
  std::vector<std::vector<float>> xs, dys;
  double n = 0, sx = 0;
  for (size_t r : sizes) {
    std::vector<float> x(r), dy(r);
    for (size_t i = 0; i < r; ++i) x[i] = data(rng), dy[i] = grad(rng);
    if (r == 0) x = {std::numeric_limits<float>::quiet_NaN()}, dy = {0.0f};  // a shift that holds junk
    xs.push_back(x), dys.push_back(dy);
    for (size_t i = 0; i < r; ++i) sx += x[i];
    n += double(r);
  }
  const double mean = sx / n;
  double var = 0, sdy = 0, sdyx = 0;
  for (size_t k = 0; k < xs.size(); ++k)
    for (size_t i = 0; i < sizes[k]; ++i) {
      var += (xs[k][i] - mean) * (xs[k][i] - mean) / n;
      sdy += dys[k][i];
      sdyx += dys[k][i] * (xs[k][i] - mean);
    }

  // Forward: each rank's sums about 0, added (the all-reduce), then moved to g.
  double sums[2] = {0, 0};
  for (size_t k = 0; k < xs.size(); ++k) {
    const auto p = partials(xs[k], dys[k], chunk, false);
    double mine[2];
    dist::batchnorm_forward_sums(p.data(), 1, uint32_t(p.size() / 3), double(sizes[k]), mine);
    CHECK(std::isfinite(mine[0]));
    sums[0] += mine[0], sums[1] += mine[1];
  }
  float summed[3], shift = 0;
  dist::batchnorm_forward_summed(sums, 1, n, summed, &shift);
  CHECK(summed[2] == shift);
  CHECK(std::abs(shift - mean) < 1e-5 * mean);
  // What norm/finalize_stats computes from the one chunk.
  const double d = summed[0] / n;
  CHECK(std::abs(shift + d - mean) < 1e-6 * mean);
  CHECK(std::abs(summed[1] / n - d * d - var) < 1e-5 * var);

  // Backward: about the forward's shift.
  double bsums[2] = {0, 0};
  for (size_t k = 0; k < xs.size(); ++k) {
    const auto p = partials(xs[k], dys[k], chunk, true);
    double mine[2];
    dist::batchnorm_backward_sums(p.data(), 1, uint32_t(p.size() / 3), double(sizes[k]), &shift, mine);
    bsums[0] += mine[0], bsums[1] += mine[1];
  }
  CHECK(std::abs(bsums[0] - sdy) < 1e-4 * std::sqrt(n));
  // sum dy (x - mean) = sum dy (x - g) - (mean - g) sum dy
  const double centred = bsums[1] - (mean - shift) * bsums[0];
  CHECK(std::abs(centred - sdyx) < 1e-4 * std::sqrt(n) * std::sqrt(var));
}

TEST_CASE("sync-bn: one process's exchange gives its own statistics", "[cpu][dist]") {
  dist::Comm comm;  // one process: the all-reduce is the identity
  dist::BatchNormSync sync(comm);
  // Two channels, two chunks each: (A, B, s).
  const float p[] = {1.5f, 4.0f, 10.0f, -0.5f, 2.0f, 10.0f, 3.0f, 9.0f, -2.0f, 1.0f, 3.0f, -2.0f};
  float fwd[6], bwd[6 + 12];
  sync.forward(0, p, 2, 2, 8.0, 8.0, fwd);
  for (int c = 0; c < 2; ++c) {
    const double a = p[6 * c] + p[6 * c + 3], b = p[6 * c + 1] + p[6 * c + 4], s = p[6 * c + 2];
    CHECK(std::abs(fwd[3 * c + 2] + fwd[3 * c] / 8.0 - (s + a / 8.0)) < 1e-6);  // mean
    const double va = b / 8.0 - (a / 8.0) * (a / 8.0), vb = fwd[3 * c + 1] / 8.0 - std::pow(fwd[3 * c] / 8.0, 2);
    CHECK(std::abs(va - vb) < 1e-5);
  }
  sync.backward(0, p, 2, 2, 8.0, bwd);
  for (int i = 0; i < 12; ++i) CHECK(bwd[6 + i] == p[i]);  // this rank's own partials follow
  CHECK(bwd[0] == 1.0f);                                    // sum dy of channel 0
  REQUIRE_THROWS(sync.backward(3, p, 2, 2, 8.0, bwd));      // no forward for layer 3
}

}  // namespace fovea::test
