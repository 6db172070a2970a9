// roofline: the FMA micro-kernel of `fovea bench --roofline` against its
// reference, on counts that are not multiples of the workgroup, and its
// recorded cost (the FLOPs the bench divides by the kernel's time).
#include <catch2/catch.hpp>

#include "gpu/harness.h"
#include "ops/op_check.h"
#include "ops/roofline.h"
#include "reference/roofline.h"

namespace fovea::test {

TEST_CASE("fma loop matches its reference and records its FLOPs", "[roofline]") {
  for (uint32_t n : {1u, 63u, 65u, 1000u}) {
    for (uint32_t iterations : {1u, 37u, 2000u}) {
      INFO("count " << n << ", iterations " << iterations);
      auto xv = random_floats(n, 7 + n);
      OpRun run;
      auto x = run.tensor("x", n), y = run.tensor("y", n);
      run.commit();
      run.set(x, xv);
      run.set(y, garbage(n, 9));
      // a < 1 keeps the chains bounded (they tend to b / (1 - a) = 0.6).
      ops::FmaLoop f{n, iterations, 0.995f, 0.003f};
      ops::record_fma_loop(run.program(), f, x, y, "fma");
      run.run();
      // float32 steps: the error grows with the chain's length, about 1e-7 per step.
      check_close(run.get(y, n), ref::fma_loop(ref::widen(xv), iterations, 0.995f, 0.003f), 1e-5, 2e-4, "fma loop");
      const gpu::DispatchCost c = gpu::cost_of(run.program().dispatches().back());
      CHECK(c.exact);
      CHECK(c.flops == 32.0 * n * iterations);
    }
  }
}

TEST_CASE("stream copy copies every value and records its bytes", "[roofline]") {
  // 512 workgroups of 64 lanes cover 32,768 vec4 per sweep: 40,000 loops twice.
  for (uint64_t n4 : {1ull, 65ull, 40000ull}) {
    INFO("vec4 count " << n4);
    auto xv = random_floats(4 * n4, 11 + n4);
    OpRun run;
    auto x = run.tensor("x", 4 * n4), y = run.tensor("y", 4 * n4 + 4);
    run.commit();
    run.set(x, xv);
    const auto yv = garbage(4 * n4 + 4, 12);
    run.set(y, yv);
    ops::record_stream_copy(run.program(), n4, x, y, "copy");
    run.run();
    auto want = ref::widen(xv);
    want.insert(want.end(), yv.end() - 4, yv.end());  // past the count: untouched
    check_close(run.get(y, 4 * n4 + 4), want, 0, 0, "stream copy");
    CHECK(gpu::cost_of(run.program().dispatches().back()).bytes == 32.0 * double(n4));
  }
}

}  // namespace fovea::test
