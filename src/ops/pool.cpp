#include "ops/pool.h"

#include <algorithm>

#include "ops/kernel_policy.h"
#include "util/error.h"

namespace fovea::ops {

namespace {

// No invocation may loop more than this many times in total (common.glsl:
// lavapipe stops a SIMD group's loops after 65,535 iterations).
constexpr uint64_t kLoopBudget = 16384;
// Values one invocation of pool/global_avgpool_forward sums (a multiple of 4
// for the vec4 path); longer planes are split into chunks.
constexpr uint32_t kPlaneChunk = 4096;
// Window loops of max pooling up to this trip count are unrolled (LOOP_H,
// LOOP_W in shaders/pool/pool2d.glsl).
constexpr uint32_t kMaxFixedLoop = 4;

uint32_t out_size(uint32_t in, uint32_t k, uint32_t s, uint32_t p, uint32_t d) {
  const int64_t num = int64_t(in) + 2 * int64_t(p) - int64_t(d) * (int64_t(k) - 1) - 1;
  return num < 0 || s == 0 ? 0 : uint32_t(num / s + 1);
}

std::string dims(uint32_t a, uint32_t b) { return std::to_string(a) + "x" + std::to_string(b); }

// The push block of every 2-d pooling kernel (shaders/pool/*2d_*.comp).
struct Pool2dPush {
  uint32_t count;           // elements of the tensor the kernel writes
  uint32_t H, W, OH, OW;
  uint32_t kh, kw, sh, sw, ph, pw, dh, dw;
  uint32_t nh, nw;          // backward: windows that can contain one row / column
  uint32_t qh0, rh0, qw0, rw0;  // ph / sh, ph % sh, pw / sw, pw % sw
  uint32_t count_include_pad;
  // Magic numbers (division_magic) for the kernels' divisions: the rows and
  // columns of the tensor a kernel walks, and (backward) the strides.
  uint32_t div_rows[2], div_cols[2], div_sh[2], div_sw[2];
  uint32_t stream;   // pooling dropout: Philox stream,
  float drop_p;      // drop probability,
  float drop_scale;  // and the average's 1 / (1 - p)
};
static_assert(sizeof(Pool2dPush) == 124);

// (m, s) with n / d = (n * m) >> (32 + s) for every n < 2^31: m =
// ceil(2^(31+l) / d), l = ceil(log2 d), s = l - 1 (Granlund and Montgomery,
// "Division by invariant integers using multiplication"; m < 2^32 holds for
// every d >= 2). m = 0 encodes d = 1. See quotient() in shaders/pool/pool2d.glsl.
void division_magic(uint32_t d, uint32_t out[2]) {
  if (d == 1) {
    out[0] = out[1] = 0;
    return;
  }
  uint32_t l = 0;
  while ((uint64_t(1) << l) < d) ++l;
  out[0] = uint32_t(((uint64_t(1) << (31 + l)) + d - 1) / d);
  out[1] = l - 1;
}

// True when some kernel tap i < k of every output o lands on a real
// position: 0 <= o*s - p + i*d < in.
bool windows_cover_input(uint32_t in, uint32_t out, uint32_t k, uint32_t s, uint32_t p,
                         uint32_t d) {
  for (int64_t o = 0; o < out; ++o) {
    bool any = false;
    for (int64_t i = 0; i < k && !any; ++i) {
      const int64_t pos = o * s - p + i * d;
      any = pos >= 0 && pos < in;
    }
    if (!any) return false;
  }
  return true;
}

// Loop iterations of one invocation of a 2-d pooling kernel: lanes take
// runs of 4 elements of the `count` they write (grid-stride), and each
// element loops `per_element` times (plus the 4-element step).
uint64_t run_iterations(uint64_t count, uint64_t per_element) {
  return ceil_div(ceil_div(count, 4), 65535ull * 64) * (1 + 4 * (1 + per_element));
}

// Iterations of a grid-stride loop over `count` items that each loop
// `per_item` times.
uint64_t loop_iterations(uint64_t count, uint64_t per_item) {
  return ceil_div(count, 65535ull * 64) * (1 + per_item);
}

void check_budget(uint64_t iterations, const std::string& label, const std::string& what) {
  if (iterations > kLoopBudget)
    throw Error(label + ": " + what + " needs " + std::to_string(iterations) +
                " loop iterations per invocation, over the budget of " +
                std::to_string(kLoopBudget));
}

// Validates s for `label` and returns the push block with resolved strides.
Pool2dPush checked(const Pool2dShape& s, bool max_pool, const std::string& label) {
  if (s.batch == 0 || s.channels == 0 || s.height == 0 || s.width == 0)
    throw Error(label + ": empty input " + std::to_string(s.batch) + "x" +
                std::to_string(s.channels) + "x" + dims(s.height, s.width));
  if (s.kh == 0 || s.kw == 0) throw Error(label + ": kernel " + dims(s.kh, s.kw) + " is empty");
  if (s.dh == 0 || s.dw == 0) throw Error(label + ": dilation " + dims(s.dh, s.dw) + " must be >= 1");
  if (!max_pool && (s.dh != 1 || s.dw != 1))
    throw Error(label + ": average pooling has no dilation (got " + dims(s.dh, s.dw) + ")");
  // PyTorch: "pad should be at most half of effective kernel size" and
  // kernel / 2 >= pad; the second is the stricter.
  if (s.ph > s.kh / 2 || s.pw > s.kw / 2)
    throw Error(label + ": padding " + dims(s.ph, s.pw) + " is over half the kernel " +
                dims(s.kh, s.kw) + " (PyTorch allows at most kernel / 2)");
  const uint32_t sh = s.stride_h(), sw = s.stride_w(), OH = s.out_h(), OW = s.out_w();
  const std::string geometry = "input " + dims(s.height, s.width) + ", kernel " +
                               dims(s.kh, s.kw) + ", stride " + dims(sh, sw) + ", padding " +
                               dims(s.ph, s.pw) + ", dilation " + dims(s.dh, s.dw);
  if (OH == 0 || OW == 0) throw Error(label + ": output would be empty (" + geometry + ")");
  // PyTorch returns -inf and an index outside the window for such a window.
  if (!windows_cover_input(s.height, OH, s.kh, sh, s.ph, s.dh) ||
      !windows_cover_input(s.width, OW, s.kw, sw, s.pw, s.dw))
    throw Error(label + ": a dilated window covers only padding (" + geometry + ")");
  const uint64_t in = uint64_t(s.batch) * s.channels * s.height * s.width;
  // quotient() in the kernels needs every index below 2^31.
  if (in >= (1ull << 31) || uint64_t(s.batch) * s.channels * OH * OW >= (1ull << 31))
    throw Error(label + ": tensor of 2^31 elements or more");
  Pool2dPush push{};
  push.H = s.height, push.W = s.width, push.OH = OH, push.OW = OW;
  push.kh = s.kh, push.kw = s.kw, push.sh = sh, push.sw = sw, push.ph = s.ph, push.pw = s.pw;
  push.dh = s.dh, push.dw = s.dw;
  // Windows oh with 0 <= h + ph - oh*sh <= (kh-1)*dh: at most this many.
  push.nh = (s.kh - 1) * s.dh / sh + 1;
  push.nw = (s.kw - 1) * s.dw / sw + 1;
  push.qh0 = s.ph / sh, push.rh0 = s.ph % sh, push.qw0 = s.pw / sw, push.rw0 = s.pw % sw;
  division_magic(sh, push.div_sh);
  division_magic(sw, push.div_sw);
  return push;
}

uint64_t in_count(const Pool2dShape& s) {
  return uint64_t(s.batch) * s.channels * s.height * s.width;
}
uint64_t out_count(const Pool2dShape& s) {
  return uint64_t(s.batch) * s.channels * s.out_h() * s.out_w();
}

// The kernel, specialised for pooling dropout when `drop` is given (whose
// fields then go into the push block), and with `texel` (max pooling's
// texel-buffer kernels, `kernel` + "_texel") the window loops' trip counts
// (loop_h, loop_w) as constants when they are small.
const gpu::Kernel& pool_kernel(Program& p, const char* kernel, Pool2dPush& push,
                               const PoolDropout* drop, bool texel, uint32_t loop_h,
                               uint32_t loop_w, const std::string& label) {
  if (drop) {
    if (!(drop->p >= 0 && drop->p < 1))
      throw Error(label + ": dropout probability " + std::to_string(drop->p) + " is outside [0, 1)");
    push.stream = drop->stream;
    push.drop_p = drop->p;
    push.drop_scale = float(1.0 / (1.0 - double(drop->p)));
  }
  if (!drop && !texel) return p.context().kernels().get(kernel);
  if (!texel) {
    static const uint32_t spec[] = {1};
    return p.context().kernels().get(kernel, spec);
  }
  // Each distinct trip count is one more pipeline: only small ones.
  const uint32_t spec[] = {drop ? 1u : 0u, loop_h <= kMaxFixedLoop ? loop_h : 0u,
                           loop_w <= kMaxFixedLoop ? loop_w : 0u};
  return p.context().kernels().get(std::string(kernel) + "_texel", spec);
}

// True when every view can be read through a texel buffer (not with the
// portable kernels; SwiftShader's texel buffers are too small for most).
bool texel_views(Program& p, std::initializer_list<View> views) {
  return KernelPolicy::of(p.context()).texel_views(views, 4);
}

// Forward kernels: runs of 4 outputs per lane, kh x kw taps each.
void record_forward(Program& p, const char* kernel, Pool2dPush push, const Pool2dShape& s,
                    std::initializer_list<gpu::Binding> bindings, const std::string& label,
                    const PoolDropout* drop = nullptr, bool texel = false) {
  push.count = uint32_t(out_count(s));
  division_magic(push.OH, push.div_rows);
  division_magic(push.OW, push.div_cols);
  check_budget(run_iterations(push.count, s.kh + uint64_t(s.kh) * s.kw), label,
               "a " + dims(s.kh, s.kw) + " window");
  const gpu::Kernel& k = pool_kernel(p, kernel, push, drop, texel, s.kh, s.kw, label);
  p.dispatch(label, k, bindings, push,
             stride_groups(ceil_div(push.count, 4)));
}

// Backward kernels: runs of 4 input elements per lane, nh x nw candidate
// windows each.
void record_backward(Program& p, const char* kernel, Pool2dPush push, const Pool2dShape& s,
                     std::initializer_list<gpu::Binding> bindings, const std::string& label,
                     const PoolDropout* drop = nullptr, bool texel = false) {
  push.count = uint32_t(in_count(s));
  division_magic(push.H, push.div_rows);
  division_magic(push.W, push.div_cols);
  check_budget(run_iterations(push.count, push.nh + uint64_t(push.nh) * push.nw), label,
               dims(push.nh, push.nw) + " overlapping windows");
  const gpu::Kernel& k = pool_kernel(p, kernel, push, drop, texel, push.nh, push.nw, label);
  p.dispatch(label, k, bindings, push,
             stride_groups(ceil_div(push.count, 4)));
}

void check_rows(uint32_t batch, uint32_t channels, uint32_t plane, const std::string& label) {
  if (batch == 0 || channels == 0 || plane == 0)
    throw Error(label + ": empty input " + std::to_string(batch) + "x" + std::to_string(channels) +
                "x" + std::to_string(plane));
  if (uint64_t(batch) * channels * plane > UINT32_MAX)
    throw Error(label + ": tensor over 2^32 elements");
}

}  // namespace

uint32_t Pool2dShape::out_h() const { return out_size(height, kh, stride_h(), ph, dh); }
uint32_t Pool2dShape::out_w() const { return out_size(width, kw, stride_w(), pw, dw); }

namespace {

// Windows of the batch for views larger than the storage range (row_windows):
// x (or dx) holds [N, C, H, W] rows, the others [N, C, OH, OW] rows. The
// dropout variants key their masks by element index, so they are never split
// (the recorder then refuses the binding, naming the layer).
uint64_t in_row(const Pool2dShape& s) { return uint64_t(s.channels) * s.height * s.width * 4; }
uint64_t out_row(const Pool2dShape& s) { return uint64_t(s.channels) * s.out_h() * s.out_w() * 4; }
std::vector<RowWindow> pool_windows(Program& p, const Pool2dShape& s, const View& in, const View& out1,
                                    const View& out2, const std::string& label, const PoolDropout* drop) {
  if (drop) return {{0, s.batch}};
  return row_windows(p.context(), s.batch, {{in, in_row(s)}, {out1, out_row(s)}, {out2, out_row(s)}}, label);
}
View in_window(const Pool2dShape& s, const View& v, const RowWindow& r) { return row_window(v, in_row(s), r); }
View out_window(const Pool2dShape& s, const View& v, const RowWindow& r) { return row_window(v, out_row(s), r); }
Pool2dShape with_batch(const Pool2dShape& s, const RowWindow& r) {
  Pool2dShape w = s;
  w.batch = uint32_t(r.rows);
  return w;
}

void maxpool_forward(Program& p, const Pool2dShape& s, const View& x, const View& y,
                     const View& argmax, const std::string& label, const PoolDropout* drop) {
  if (const auto ws = pool_windows(p, s, x, y, argmax, label, drop); ws.size() > 1) {
    for (const RowWindow& r : ws)
      maxpool_forward(p, with_batch(s, r), in_window(s, x, r), out_window(s, y, r), out_window(s, argmax, r),
                      label, drop);
    return;
  }
  const Pool2dPush push = checked(s, true, label);
  require_floats(x, in_count(s), label + " (x)");
  require_floats(y, out_count(s), label + " (y)");
  require_floats(argmax, out_count(s), label + " (argmax)");
  if (texel_views(p, {x})) {
    record_forward(p, "pool/maxpool2d_forward", push, s,
                   {gpu::in(x), gpu::out(y), gpu::out(argmax), gpu::texel_scalar_in(x)}, label, drop, true);
    return;
  }
  record_forward(p, "pool/maxpool2d_forward", push, s,
                 {gpu::in(x), gpu::out(y), gpu::out(argmax)}, label, drop);
}

void maxpool_backward(Program& p, const Pool2dShape& s, const View& argmax, const View& dy,
                      const View& dx, const std::string& label, const PoolDropout* drop) {
  if (const auto ws = pool_windows(p, s, dx, argmax, dy, label, drop); ws.size() > 1) {
    for (const RowWindow& r : ws)
      maxpool_backward(p, with_batch(s, r), out_window(s, argmax, r), out_window(s, dy, r), in_window(s, dx, r),
                       label, drop);
    return;
  }
  const Pool2dPush push = checked(s, true, label);
  require_floats(argmax, out_count(s), label + " (argmax)");
  require_floats(dy, out_count(s), label + " (dy)");
  require_floats(dx, in_count(s), label + " (dx)");
  if (texel_views(p, {argmax, dy})) {
    record_backward(p, "pool/maxpool2d_backward", push, s,
                    {gpu::in(argmax), gpu::in(dy), gpu::out(dx), gpu::texel_uint_in(argmax),
                     gpu::texel_scalar_in(dy)},
                    label, drop, true);
    return;
  }
  record_backward(p, "pool/maxpool2d_backward", push, s,
                  {gpu::in(argmax), gpu::in(dy), gpu::out(dx)}, label, drop);
}

void avgpool_forward(Program& p, const Pool2dShape& s, bool count_include_pad, const View& x,
                     const View& y, const std::string& label, const PoolDropout* drop) {
  if (const auto ws = pool_windows(p, s, x, y, View{}, label, drop); ws.size() > 1) {
    for (const RowWindow& r : ws)
      avgpool_forward(p, with_batch(s, r), count_include_pad, in_window(s, x, r), out_window(s, y, r), label, drop);
    return;
  }
  Pool2dPush push = checked(s, false, label);
  push.count_include_pad = count_include_pad ? 1u : 0u;
  require_floats(x, in_count(s), label + " (x)");
  require_floats(y, out_count(s), label + " (y)");
  record_forward(p, "pool/avgpool2d_forward", push, s, {gpu::in(x), gpu::out(y)}, label, drop);
}

void avgpool_backward(Program& p, const Pool2dShape& s, bool count_include_pad, const View& dy,
                      const View& dx, const std::string& label, const PoolDropout* drop) {
  if (const auto ws = pool_windows(p, s, dx, dy, View{}, label, drop); ws.size() > 1) {
    for (const RowWindow& r : ws)
      avgpool_backward(p, with_batch(s, r), count_include_pad, out_window(s, dy, r), in_window(s, dx, r), label,
                       drop);
    return;
  }
  Pool2dPush push = checked(s, false, label);
  push.count_include_pad = count_include_pad ? 1u : 0u;
  require_floats(dy, out_count(s), label + " (dy)");
  require_floats(dx, in_count(s), label + " (dx)");
  record_backward(p, "pool/avgpool2d_backward", push, s, {gpu::in(dy), gpu::out(dx)}, label, drop);
}

}  // namespace

void record_maxpool2d_forward(Program& p, const Pool2dShape& s, const View& x, const View& y,
                              const View& argmax, const std::string& label) {
  maxpool_forward(p, s, x, y, argmax, label, nullptr);
}

void record_maxpool2d_backward(Program& p, const Pool2dShape& s, const View& argmax,
                               const View& dy, const View& dx, const std::string& label) {
  maxpool_backward(p, s, argmax, dy, dx, label, nullptr);
}

void record_maxpool2d_gather(Program& p, const Pool2dShape& s, const View& x, const View& argmax,
                             const View& y, const std::string& label) {
  if (const auto ws = pool_windows(p, s, x, argmax, y, label, nullptr); ws.size() > 1) {
    for (const RowWindow& r : ws)
      record_maxpool2d_gather(p, with_batch(s, r), in_window(s, x, r), out_window(s, argmax, r),
                              out_window(s, y, r), label);
    return;
  }
  const Pool2dPush push = checked(s, true, label);
  require_floats(x, in_count(s), label + " (x)");
  require_floats(argmax, out_count(s), label + " (argmax)");
  require_floats(y, out_count(s), label + " (y)");
  record_forward(p, "pool/maxpool2d_gather", push, s, {gpu::in(x), gpu::in(argmax), gpu::out(y)}, label);
}

void record_avgpool2d_forward(Program& p, const Pool2dShape& s, bool count_include_pad,
                              const View& x, const View& y, const std::string& label) {
  avgpool_forward(p, s, count_include_pad, x, y, label, nullptr);
}

void record_avgpool2d_backward(Program& p, const Pool2dShape& s, bool count_include_pad,
                               const View& dy, const View& dx, const std::string& label) {
  avgpool_backward(p, s, count_include_pad, dy, dx, label, nullptr);
}

void record_maxpool_dropout_forward(Program& p, const Pool2dShape& s, const PoolDropout& drop,
                                    const View& x, const View& y, const View& argmax,
                                    const std::string& label) {
  maxpool_forward(p, s, x, y, argmax, label, &drop);
}

void record_maxpool_dropout_backward(Program& p, const Pool2dShape& s, const PoolDropout& drop,
                                     const View& argmax, const View& dy, const View& dx,
                                     const std::string& label) {
  maxpool_backward(p, s, argmax, dy, dx, label, &drop);
}

void record_avgpool_dropout_forward(Program& p, const Pool2dShape& s, bool count_include_pad,
                                    const PoolDropout& drop, const View& x, const View& y,
                                    const std::string& label) {
  avgpool_forward(p, s, count_include_pad, x, y, label, &drop);
}

void record_avgpool_dropout_backward(Program& p, const Pool2dShape& s, bool count_include_pad,
                                     const PoolDropout& drop, const View& dy, const View& dx,
                                     const std::string& label) {
  avgpool_backward(p, s, count_include_pad, dy, dx, label, &drop);
}

void record_global_avgpool_forward(Program& p, uint32_t batch, uint32_t channels, uint32_t plane,
                                   const View& x, const View& y, const std::string& label) {
  check_rows(batch, channels, plane, label);
  const uint32_t rows = batch * channels;
  require_floats(x, uint64_t(rows) * plane, label + " (x)");
  require_floats(y, rows, label + " (y)");
  const uint32_t splits = ceil_div(plane, kPlaneChunk);
  // The vec4 path needs every row to start on a 16-byte boundary.
  const uint32_t vec4 = plane % 4 == 0 ? 1u : 0u;
  const uint32_t chunk_loop = vec4 ? kPlaneChunk / 4 : kPlaneChunk;
  check_budget(loop_iterations(rows, std::min(plane, chunk_loop)), label, "the plane sum");
  check_budget(loop_iterations(rows, splits), label, "adding the plane's chunks");
  // One chunk: the kernel writes the mean. Several: partials [splits, rows]
  // into scratch, then pool/global_avgpool_reduce adds them in chunk order.
  const View target = splits > 1 ? p.scratch(label + ".partials", uint64_t(splits) * rows * 4) : y;
  struct {
    uint32_t rows, plane, chunk, mean;
  } push{rows, plane, kPlaneChunk, splits == 1 ? 1u : 0u};
  const uint32_t spec[] = {vec4};
  p.dispatch(label, p.context().kernels().get("pool/global_avgpool_forward", spec),
             {gpu::in(x), gpu::out(target)}, push, stride_groups(rows), splits);
  if (splits == 1) return;
  struct {
    uint32_t rows, plane, splits;
  } reduce{rows, plane, splits};
  p.dispatch(label + ".reduce", p.context().kernels().get("pool/global_avgpool_reduce"),
             {gpu::in(target), gpu::out(y)}, reduce, stride_groups(rows));
}

void record_global_avgpool_backward(Program& p, uint32_t batch, uint32_t channels,
                                    uint32_t plane, const View& dy, const View& dx,
                                    const std::string& label) {
  check_rows(batch, channels, plane, label);
  const uint32_t rows = batch * channels;
  const uint64_t count = uint64_t(rows) * plane;
  require_floats(dy, rows, label + " (dy)");
  require_floats(dx, count, label + " (dx)");
  check_budget(loop_iterations(count / 4, 1) + 3, label, "the broadcast");
  struct {
    uint32_t count, rows, plane;
  } push{uint32_t(count), rows, plane};
  p.dispatch(label, p.context().kernels().get("pool/global_avgpool_backward"),
             {gpu::in(dy), gpu::out(dx)}, push, stride_groups(count / 4));
}

}  // namespace fovea::ops
