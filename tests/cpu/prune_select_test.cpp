// Magnitude pruning's host-side choice (ops/prune_select.h): the k =
// round(sparsity n) smallest |w| per tensor or over all tensors, ties to the
// lower index, against a full sort on tensors with many ties; Python's
// round half to even; the bounds of sparsity; bad values and names.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>

#include "ops/prune_select.h"
#include "util/error.h"

using Catch::Contains;
using fovea::ops::PruneScope;
using fovea::ops::PruneTensor;
using fovea::ops::select_pruned;

namespace {

using Lists = std::vector<std::vector<uint32_t>>;

std::vector<PruneTensor> views(const std::vector<std::vector<float>>& ts) {
  std::vector<PruneTensor> v;
  for (size_t t = 0; t < ts.size(); ++t) v.push_back({"t" + std::to_string(t), ts[t].data(), ts[t].size()});
  return v;
}

// The oracle: every (|w|, tensor, index) sorted, the first k taken.
Lists by_full_sort(const std::vector<std::vector<float>>& ts, double sparsity, PruneScope scope) {
  Lists out(ts.size());
  std::vector<std::tuple<float, uint32_t, uint32_t>> all;
  auto take = [&](uint64_t n) {
    std::sort(all.begin(), all.end());
    const auto k = uint64_t(std::nearbyint(sparsity * double(n)));
    for (uint64_t j = 0; j < k; ++j) out[std::get<1>(all[j])].push_back(std::get<2>(all[j]));
    all.clear();
  };
  uint64_t total = 0;
  for (uint32_t t = 0; t < ts.size(); ++t) {
    for (uint32_t i = 0; i < ts[t].size(); ++i) all.emplace_back(std::fabs(ts[t][i]), t, i);
    total += ts[t].size();
    if (scope == PruneScope::Layer) take(ts[t].size());
  }
  if (scope == PruneScope::Global) take(total);
  for (auto& l : out) std::sort(l.begin(), l.end());
  return out;
}

}  // namespace

TEST_CASE("pruning takes the smallest magnitudes, ties to the lower index", "[prune]") {
  const std::vector<std::vector<float>> ts = {{3, -1, 0.5f, -0.5f, 2, 0.25f}};
  CHECK(select_pruned(views(ts), 1.0 / 3, PruneScope::Layer) == Lists{{2, 5}});
  CHECK(select_pruned(views(ts), 0.5, PruneScope::Layer) == Lists{{2, 3, 5}});
  CHECK(select_pruned(views(ts), 0.0, PruneScope::Layer) == Lists{{}});
  CHECK(select_pruned(views(ts), 1.0, PruneScope::Layer) == Lists{{0, 1, 2, 3, 4, 5}});
}

TEST_CASE("pruning counts round half to even like torch's round(amount * n)", "[prune]") {
  // 0.5 x 5 = 2.5 -> 2; 0.5 x 7 = 3.5 -> 4; 0.3 x 5 = 1.5 -> 2.
  const std::vector<std::vector<float>> ts = {{1, 2, 3, 4, 5}, {7, 6, 5, 4, 3, 2, 1}};
  const Lists half = select_pruned(views(ts), 0.5, PruneScope::Layer);
  CHECK(half == Lists{{0, 1}, {3, 4, 5, 6}});
  CHECK(select_pruned(views(ts), 0.3, PruneScope::Layer)[0] == std::vector<uint32_t>{0, 1});
  // Global: 0.5 x 12 = 6 of all twelve: 1, 1, 2, 2, 3, 3 (tensor 0 first on ties).
  CHECK(select_pruned(views(ts), 0.5, PruneScope::Global) == Lists{{0, 1, 2}, {4, 5, 6}});
}

TEST_CASE("global pruning ranks all tensors together", "[prune]") {
  const std::vector<std::vector<float>> ts = {{10, -20, 30, 40}, {0.1f, -0.2f, 0.3f}, {5, -6}};
  const Lists g = select_pruned(views(ts), 4.0 / 9, PruneScope::Global);
  CHECK(g == Lists{{}, {0, 1, 2}, {0}});
  const Lists l = select_pruned(views(ts), 4.0 / 9, PruneScope::Layer);
  CHECK(l == Lists{{0, 1}, {0}, {0}});  // 1.78 -> 2, 1.33 -> 1, 0.89 -> 1
}

TEST_CASE("pruning agrees with a full sort on random tensors with many ties", "[prune]") {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::vector<float>> ts(1 + rng() % 4);
    for (auto& t : ts) {
      t.resize(1 + rng() % 300);
      // Magnitudes from a few values (and both signs): ties everywhere.
      for (auto& v : t) v = float(int(rng() % 9) - 4) * 0.125f;
    }
    const double sparsity = double(rng() % 1001) / 1000.0;
    for (PruneScope scope : {PruneScope::Layer, PruneScope::Global}) {
      INFO("round " << round << ", sparsity " << sparsity << ", global " << (scope == PruneScope::Global));
      CHECK(select_pruned(views(ts), sparsity, scope) == by_full_sort(ts, sparsity, scope));
    }
  }
}

TEST_CASE("pruning refuses bad sparsity, scope and values", "[prune]") {
  const std::vector<std::vector<float>> ts = {{1, 2}, {3, NAN}};
  for (double s : {-0.1, 1.5, double(NAN)})
    CHECK_THROWS_WITH(select_pruned(views({{1, 2}}), s, PruneScope::Layer), Contains("--sparsity:"));
  CHECK_THROWS_WITH(select_pruned(views(ts), 0.5, PruneScope::Global), Contains("pruning t1: value 1 is not finite"));
  CHECK(fovea::ops::parse_prune_scope("global") == PruneScope::Global);
  CHECK_THROWS_WITH(fovea::ops::parse_prune_scope("net"), Contains("--scope: unknown value 'net'"));
}

TEST_CASE("zero fraction counts exact zeros", "[prune]") {
  const std::vector<float> v = {0.0f, -0.0f, 1e-30f, 2, 0};
  CHECK(fovea::ops::zero_fraction(v.data(), v.size()) == Approx(0.6));
  CHECK(fovea::ops::zero_fraction(v.data(), 0) == 0.0);
}
