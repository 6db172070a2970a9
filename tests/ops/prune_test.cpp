// prune: the fixed-mask kernel zeroes the listed parameters and their
// optimizer state and writes nothing else (with and without state arrays,
// lists not multiples of 4); pruned weights stay 0 through Adam and SGD
// steps while the rest follow the double reference of the optimizer with
// the same mask; refused masks.
#include <catch2/catch.hpp>

#include "data/split.h"
#include "gpu/harness.h"
#include "ops/op_check.h"
#include "ops/optim.h"
#include "ops/prune.h"
#include "ops/prune_select.h"
#include "reference/optim.h"
#include "util/error.h"

namespace fovea::test {
namespace {

// Indices into a block of two tensors (sizes a and b, b starting at a):
// the smallest 40% of each by magnitude, from the host selection.
std::vector<uint32_t> block_mask(const std::vector<float>& block, uint32_t a) {
  const std::vector<ops::PruneTensor> ts = {{"w0", block.data(), a}, {"w1", block.data() + a, block.size() - a}};
  const auto lists = ops::select_pruned(ts, 0.4, ops::PruneScope::Layer);
  std::vector<uint32_t> idx = lists[0];
  for (uint32_t i : lists[1]) idx.push_back(a + i);
  return idx;
}

}  // namespace

TEST_CASE("pruning mask zeroes listed parameters and their optimizer state only", "[prune]") {
  for (uint32_t arrays : {0u, 1u, 3u}) {
    INFO(arrays << " state arrays");
    const uint32_t count = 1037, a = 301;
    const uint64_t stride = ops::optimizer_state_stride(count);
    const auto params = random_floats(count, 10 + arrays);
    const auto state = random_floats(arrays * stride + 1, 20 + arrays);
    const auto idx = block_mask(params, a);
    REQUIRE(idx.size() % 4 != 0);
    OpRun run;
    auto pv = run.tensor("params", count), iv = run.tensor("indices", idx.size());
    auto sv = run.tensor("state", arrays * stride + 1);
    run.commit();
    run.set(pv, params);
    run.set(sv, state);
    run.set_u32(iv, idx);
    ops::record_prune_mask(run.program(), {idx.size(), count, arrays, stride}, iv, pv,
                           arrays ? sv : gpu::View{}, "prune");
    run.run();
    ref::Tensor want_p = ref::widen(params), want_s = ref::widen(state);
    for (uint32_t i : idx) {
      want_p[i] = 0;
      for (uint32_t k = 0; k < arrays; ++k) want_s[k * stride + i] = 0;
    }
    check_close(run.get(pv, count), want_p, 0, 0, "params");
    check_close(run.get(sv, arrays * stride + 1), want_s, 0, 0, "state (and the float after it)");
  }
}

TEST_CASE("pruned weights stay zero through optimizer steps", "[prune]") {
  for (ops::Optimizer kind : {ops::Optimizer::Adam, ops::Optimizer::Sgd}) {
    const ops::OptimConfig c = ops::optimizer_defaults(kind);
    INFO(ops::describe_optimizer(c));
    const uint32_t count = 203, a = 77;
    const uint64_t stride = ops::optimizer_state_stride(count);
    const uint32_t arrays = ops::optimizer_state_arrays(c);
    const auto p0 = random_floats(count, 30);
    const auto idx = block_mask(p0, a);
    OpRun run;
    auto pv = run.tensor("params", count), gv = run.tensor("grads", count), iv = run.tensor("indices", idx.size());
    auto sv = run.tensor("state", ops::optimizer_state_floats(c, count));
    run.commit();
    run.set(pv, p0);
    run.set(sv, std::vector<float>(arrays * stride, 0.0f));
    run.set_u32(iv, idx);
    ops::record_optimizer(run.program(), count, c, pv, gv, sv, "optimizer");
    ops::record_prune_mask(run.program(), {idx.size(), count, arrays, stride}, iv, pv, sv, "prune");
    // The reference: the optimizer step, then the same entries zeroed.
    ref::Tensor want = ref::widen(p0);
    for (uint32_t i : idx) want[i] = 0;
    ref::OptimState state;
    ops::OptimCoefficients coefficients(c);
    for (uint32_t step = 0; step < 5; ++step) {
      const auto grad = random_floats(count, 40 + step);  // non-zero at pruned weights too
      run.set(gv, grad);
      nn::StepParams params;
      params.lr = 0.01f;
      params.step = step;
      const auto k = coefficients.at(step + 1, params.lr);
      std::copy(k.begin(), k.end(), params.optim);
      run.run(params);
      ref::optimizer_step(c, params.lr, want, ref::widen(grad), state);
      for (uint32_t i : idx) {
        want[i] = 0;
        for (auto& arr : state.arrays) arr[i] = 0;
      }
      const auto got = run.get(pv, count);
      check_close(got, want, 1e-6, 1e-5, "params after step " + std::to_string(step + 1));
      const auto s = run.get(sv, arrays * stride);
      for (uint32_t i : idx) {
        CHECK(got[i] == 0.0f);
        for (uint32_t k2 = 0; k2 < arrays; ++k2) CHECK(s[k2 * stride + i] == 0.0f);
      }
    }
  }
}

TEST_CASE("pruning mask refuses empty lists and short state", "[prune]") {
  OpRun run;
  auto pv = run.tensor("params", 10), iv = run.tensor("indices", 3), sv = run.tensor("state", 12);
  run.commit();
  CHECK_THROWS_WITH(ops::record_prune_mask(run.program(), {0, 10, 1, 12}, iv, pv, sv, "prune"),
                    Catch::Contains("prune: empty pruning mask"));
  CHECK_THROWS_WITH(ops::record_prune_mask(run.program(), {3, 10, 2, 12}, iv, pv, sv, "prune"),
                    Catch::Contains("(state): view state holds 12 values, needs 24"));
  CHECK_THROWS_WITH(ops::record_prune_mask(run.program(), {3, 10, 1, 8}, iv, pv, sv, "prune"),
                    Catch::Contains("stride 8 is shorter than the 10 parameters"));
  CHECK_THROWS_WITH(ops::record_prune_mask(run.program(), {4, 10, 0, 0}, iv, pv, gpu::View{}, "prune"),
                    Catch::Contains("needs 4"));
}

}  // namespace fovea::test
