// channel_shuffle: the forward against torch.nn.ChannelShuffle's definition
// (reshape, transpose, flatten) on shapes whose planes are and are not
// multiples of 4 (the vec4 and scalar paths), the backward as the inverse
// permutation and against finite differences, row windows over a lowered
// storage range, and the refusal of groups that do not divide the channels.
#include <catch2/catch.hpp>

#include "gpu/harness.h"
#include "ops/channel_shuffle.h"
#include "ops/op_check.h"
#include "ops/split_check.h"
#include "reference/channel_shuffle.h"
#include "util/error.h"

namespace fovea::test {
namespace {

struct ShuffleRun {
  std::vector<float> y, dx;
};

// The forward of in[0] into out[0] and the backward of in[1] into out[1].
Record shuffle_both(const ops::ChannelShuffleShape& s) {
  return [s](gpu::Program& p, const Views& in, const Views& out) {
    ops::record_channel_shuffle_forward(p, s, in[0], out[0], "shuffle.forward");
    ops::record_channel_shuffle_backward(p, s, in[1], out[1], "shuffle.backward");
  };
}

ShuffleRun run_shuffle(const ops::ChannelShuffleShape& s, const std::vector<float>& x,
                       const std::vector<float>& dy) {
  Outputs o = run_op({x, dy}, {x.size(), x.size()}, 0, shuffle_both(s));
  return {std::move(o.values[0]), std::move(o.values[1])};
}

}  // namespace

TEST_CASE("channel shuffle matches its definition and its backward is the inverse", "[channel_shuffle]") {
  struct Case {
    uint32_t batch, channels, plane, groups;
  };
  uint64_t seed = 10;
  for (Case c : {Case{1, 2, 1, 2}, Case{3, 6, 5, 2}, Case{17, 12, 35, 3}, Case{2, 31, 3, 31},
                 Case{5, 31, 17, 1}, Case{3, 65, 3, 5}, Case{4, 24, 16, 4}, Case{2, 12, 784, 3},
                 Case{1, 6, 4, 6}}) {
    INFO("batch " << c.batch << ", channels " << c.channels << ", plane " << c.plane << ", groups "
                  << c.groups);
    const ops::ChannelShuffleShape s{c.batch, c.channels, c.plane, c.groups};
    const uint64_t n = uint64_t(c.batch) * c.channels * c.plane;
    const auto x = random_floats(n, ++seed), dy = random_floats(n, ++seed);
    const ShuffleRun r = run_shuffle(s, x, dy);
    const ref::Tensor want = ref::channel_shuffle(ref::widen(x), c.batch, c.channels, c.plane, c.groups);
    check_close(r.y, want, 0, 0, "y");
    check_close(r.dx, ref::channel_shuffle_backward(ref::widen(dy), c.batch, c.channels, c.plane, c.groups),
                0, 0, "dx");
    // The backward undoes the forward: dx of dy = y is x.
    const ShuffleRun back = run_shuffle(s, x, r.y);
    check_close(back.dx, ref::widen(x), 0, 0, "backward(forward(x))");
    // L(x) = sum(shuffle(x) ⊙ dy) is linear: central differences are exact
    // up to double rounding.
    auto loss = [&](const ref::Tensor& xv) {
      return weighted_sum(ref::channel_shuffle(xv, c.batch, c.channels, c.plane, c.groups), dy);
    };
    check_finite_differences(r.dx, ref::widen(x), loss, 1e-2, 60, 1e-9, 1e-9, "dx");
  }
}

TEST_CASE("channel shuffle over row windows equals the unsplit run", "[channel_shuffle][split]") {
  const uint32_t batch = 150, channels = 6, plane = 7;
  const ops::ChannelShuffleShape s{batch, channels, plane, 3};
  const uint64_t n = uint64_t(batch) * channels * plane;
  const auto x = random_floats(n, 30), dy = random_floats(n, 31);
  const Outputs whole = run_op({x, dy}, {n, n}, 0, shuffle_both(s));
  const Outputs split = run_op({x, dy}, {n, n}, kWindowRows * channels * plane * 4, shuffle_both(s));
  check_split(split, whole, {true, true});
  check_close(split.values[0], ref::channel_shuffle(ref::widen(x), batch, channels, plane, 3), 0, 0, "y");
  check_close(split.values[1], ref::channel_shuffle_backward(ref::widen(dy), batch, channels, plane, 3), 0, 0,
              "dx");
}

TEST_CASE("channel shuffle refuses groups that do not divide the channels", "[channel_shuffle]") {
  OpRun run;
  auto x = run.tensor("x", 60), y = run.tensor("y", 60);
  run.commit();
  CHECK_THROWS_WITH(ops::record_channel_shuffle_forward(run.program(), {2, 6, 5, 4}, x, y, "shuffle1"),
                    Catch::Contains("shuffle1: 4 groups must divide 6 channels"));
  CHECK_THROWS_WITH(ops::record_channel_shuffle_backward(run.program(), {2, 6, 5, 0}, x, y, "shuffle1"),
                    Catch::Contains("groups must divide"));
  CHECK_THROWS_WITH(ops::record_channel_shuffle_forward(run.program(), {3, 6, 5, 2}, x, y, "shuffle1"),
                    Catch::Contains("needs 90"));
}

}  // namespace fovea::test
