// tensor: add, copy and channel concatenation against the reference, on
// counts that leave a scalar tail after the vec4 part and odd planes.
#include <catch2/catch.hpp>

#include "gpu/harness.h"
#include "ops/op_check.h"
#include "ops/tensor.h"
#include "reference/tensor_ops.h"

namespace fovea::test {

TEST_CASE("add and copy over counts with and without a scalar tail", "[tensor]") {
  for (uint64_t n : {1ull, 3ull, 4ull, 127ull, 4099ull}) {
    INFO("count " << n);
    auto av = random_floats(n, 1 + n), bv = random_floats(n, 2 + n);
    OpRun run;
    auto a = run.tensor("a", n), b = run.tensor("b", n), y = run.tensor("y", n), z = run.tensor("z", n);
    run.commit();
    run.set(a, av);
    run.set(b, bv);
    run.set(y, garbage(n, 3));
    run.set(z, garbage(n, 4));
    ops::record_add(run.program(), n, a, b, y, "add");
    ops::record_copy(run.program(), n, b, z, "copy");
    run.run();
    check_close(run.get(y, n), ref::add(ref::widen(av), ref::widen(bv)), 1e-6, 1e-6, "a + b");
    check_close(run.get(z, n), ref::widen(bv), 0, 0, "copy");
  }
}

// axpy: strided (an aux head's loss column of [rows, 2] stats) and in place
// (its gradient scaled), the values between the strided ones untouched.
TEST_CASE("axpy over strided and in-place values matches the reference", "[tensor]") {
  for (auto [n, stride] : {std::pair{1ull, 1u}, {5ull, 2u}, {133ull, 2u}, {70001ull, 1u}, {37ull, 3u}}) {
    INFO("count " << n << ", stride " << stride);
    const uint64_t span = (n - 1) * stride + 1;
    auto av = random_floats(span, 7 + n), bv = random_floats(span, 8 + n);
    OpRun run;
    auto a = run.tensor("a", span), b = run.tensor("b", span), y = run.tensor("y", span);
    run.commit();
    run.set(a, av);
    run.set(b, bv);
    run.set(y, av);
    ops::record_axpy(run.program(), n, stride, 1.0f, a, 0.3f, b, y, "axpy");   // y = a + 0.3 b (strided)
    ops::record_axpy(run.program(), n, stride, 0.0f, b, -1.75f, b, b, "scale");  // b = -1.75 b in place
    run.run();
    const ref::Tensor wa = ref::widen(av), wb = ref::widen(bv);
    check_close(run.get(y, span), ref::axpy(wa, wb, n, stride, double(0.3f), 1.0), 1e-6, 1e-6, "a + 0.3 b");
    check_close(run.get(b, span), ref::axpy(wb, wb, n, stride, -1.75, 0.0), 1e-6, 1e-6, "-1.75 b");
  }
  OpRun run;
  auto a = run.tensor("a", 8);
  run.commit();
  CHECK_THROWS_WITH(ops::record_axpy(run.program(), 5, 2, 1.0f, a, 1.0f, a, a, "axpy"), Catch::Contains("axpy"));
}

TEST_CASE("channel concatenation and its gradient slice", "[tensor]") {
  const uint32_t batch = 3, plane = 7 * 5;
  const std::vector<uint32_t> ch = {2, 5, 1};
  const uint32_t cy = 8;
  std::vector<std::vector<float>> xs;
  OpRun run;
  std::vector<gpu::View> xv, back;
  for (size_t t = 0; t < ch.size(); ++t) {
    xs.push_back(random_floats(uint64_t(batch) * ch[t] * plane, 10 + t));
    xv.push_back(run.tensor("x" + std::to_string(t), xs.back().size()));
    back.push_back(run.tensor("back" + std::to_string(t), xs.back().size()));
  }
  auto y = run.tensor("y", uint64_t(batch) * cy * plane);
  run.commit();
  run.set(y, garbage(uint64_t(batch) * cy * plane, 5));
  uint32_t off = 0;
  for (size_t t = 0; t < ch.size(); ++t) {
    run.set(xv[t], xs[t]);
    run.set(back[t], garbage(xs[t].size(), 6 + t));
    ops::ChannelSlice s{batch, ch[t], cy, plane, off};
    ops::record_channel_copy_into(run.program(), s, xv[t], y, "concat" + std::to_string(t));
    off += ch[t];
  }
  off = 0;
  for (size_t t = 0; t < ch.size(); ++t) {
    ops::ChannelSlice s{batch, ch[t], cy, plane, off};
    ops::record_channel_copy_from(run.program(), s, y, back[t], "slice" + std::to_string(t));
    off += ch[t];
  }
  run.run();
  std::vector<ref::Tensor> wide;
  for (auto& x : xs) wide.push_back(ref::widen(x));
  check_close(run.get(y, uint64_t(batch) * cy * plane), ref::concat_channels(wide, ch, batch, plane),
              0, 0, "concat");
  for (size_t t = 0; t < ch.size(); ++t)
    check_close(run.get(back[t], xs[t].size()), wide[t], 0, 0, "slice " + std::to_string(t));
  ops::ChannelSlice bad{batch, 5, cy, plane, 4};
  CHECK_THROWS_WITH(ops::record_channel_copy_into(run.program(), bad, xv[1], y, "concat"),
                    Catch::Contains("out of range"));
}

}  // namespace fovea::test
