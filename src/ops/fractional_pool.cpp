#include "ops/fractional_pool.h"

#include <algorithm>
#include <utility>

#include "util/error.h"

namespace fovea::ops {

namespace {

constexpr uint32_t kMaxSide = 4096;  // regions.comp's exact 32-bit arithmetic and its 13-step search
constexpr uint64_t kLoopBudget = 16384;  // loop iterations per invocation (common.glsl)

// The push block of every fractional_pool kernel (fractional_pool.glsl).
struct FractionalPush {
  uint32_t count, H, W, OH, OW, overlapping, mode, stream;
};

std::string ratio(uint32_t in, uint32_t out) { return std::to_string(in) + "/" + std::to_string(out); }

FractionalPush checked(const FractionalPoolShape& s, const View& regions, const std::string& label) {
  if (s.planes() == 0 || s.height == 0 || s.width == 0 || s.out_h == 0 || s.out_w == 0)
    throw Error(label + ": empty input or output (" + std::to_string(s.batch) + "x" + std::to_string(s.channels) +
                "x" + std::to_string(s.height) + "x" + std::to_string(s.width) + " -> " + std::to_string(s.out_h) +
                "x" + std::to_string(s.out_w) + ")");
  if (s.height > kMaxSide || s.width > kMaxSide)
    throw Error(label + ": input sides above " + std::to_string(kMaxSide) + " are not supported");
  // alpha = in / out in (1, 2]: increments of 1 and 2 fill the input.
  for (auto [in, out] : {std::pair{s.height, s.out_h}, std::pair{s.width, s.out_w}})
    if (!(out < in && in <= 2 * out))
      throw Error(label + ": reduction ratio " + ratio(in, out) + " is outside (1, 2] (output " +
                  std::to_string(s.out_h) + "x" + std::to_string(s.out_w) + " from input " +
                  std::to_string(s.height) + "x" + std::to_string(s.width) + ")");
  const uint64_t in = s.planes() * s.height * s.width;
  if (in >= (1ull << 31)) throw Error(label + ": tensor of 2^31 elements or more");
  // The backward loops about 40 times per element (two 13-step searches, 2 x 2 candidates).
  if (ceil_div(in, 65535ull * 64) * 40 > kLoopBudget) throw Error(label + ": tensor too large");
  require_floats(regions, s.region_words(), label + " (regions)");
  return {0, s.height, s.width, s.out_h, s.out_w, s.overlapping ? 1u : 0u, 0, 0};
}

uint64_t out_count(const FractionalPoolShape& s) { return s.planes() * s.out_h * s.out_w; }

}  // namespace

void record_fractional_maxpool_forward(Program& p, const FractionalPoolShape& s, FractionalRegions mode,
                                       uint32_t stream, const View& x, const View& regions, const View& y,
                                       const View& argmax, const std::string& label) {
  FractionalPush push = checked(s, regions, label);
  require_floats(x, s.planes() * s.height * s.width, label + " (x)");
  require_floats(y, out_count(s), label + " (y)");
  require_floats(argmax, out_count(s), label + " (argmax)");
  push.mode = uint32_t(mode), push.stream = stream;
  push.count = uint32_t(s.planes());
  const uint64_t longest = std::max(s.out_h, s.out_w) + 1ull;
  if (ceil_div(2 * s.planes(), 65535ull * 64) * longest > kLoopBudget)
    throw Error(label + ": too many planes for the regions' loop budget");
  p.dispatch(label + ".regions", p.context().kernels().get("fractional_pool/regions"), {gpu::out(regions)}, push,
             stride_groups(2 * s.planes()));
  push.count = uint32_t(out_count(s));
  p.dispatch(label, p.context().kernels().get("fractional_pool/forward"),
             {gpu::in(regions), gpu::in(x), gpu::out(y), gpu::out(argmax)}, push, stride_groups(push.count));
}

void record_fractional_maxpool_backward(Program& p, const FractionalPoolShape& s, const View& regions,
                                        const View& argmax, const View& dy, const View& dx,
                                        const std::string& label) {
  FractionalPush push = checked(s, regions, label);
  require_floats(argmax, out_count(s), label + " (argmax)");
  require_floats(dy, out_count(s), label + " (dy)");
  require_floats(dx, s.planes() * s.height * s.width, label + " (dx)");
  push.count = uint32_t(s.planes() * s.height * s.width);
  p.dispatch(label, p.context().kernels().get("fractional_pool/backward"),
             {gpu::in(regions), gpu::in(argmax), gpu::in(dy), gpu::out(dx)}, push, stride_groups(push.count));
}

}  // namespace fovea::ops
