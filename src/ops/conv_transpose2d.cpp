#include "ops/conv_transpose2d.h"

#include "ops/conv2d.h"

#include "ops/dense.h"
#include "util/error.h"

namespace fovea::ops {

namespace {

uint32_t out_size(uint32_t in, uint32_t k, uint32_t s, uint32_t pad, uint32_t op, uint32_t d) {
  int64_t n = (int64_t(in) - 1) * s - 2 * int64_t(pad) + int64_t(d) * (int64_t(k) - 1) + op + 1;
  return n <= 0 || n > int64_t(UINT32_MAX) ? 0 : uint32_t(n);
}

// The push block of shaders/conv2d/conv2d_geometry.glsl, describing the
// adjoint Conv2d: its input is this op's output plane (O channels, OH x OW)
// and its output plane is this op's input plane (H x W). Given explicitly,
// not recomputed by Conv2d's size formula, because with output_padding >=
// stride (allowed when output_padding < dilation) that formula would give
// a larger plane than H x W; the kernels only need the two planes to be the
// ones the scatter definition relates.
struct Geometry {
  uint32_t C, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, batch;
};
Geometry geometry(const ConvTranspose2dShape& s) {
  return {s.out_channels, s.out_h(), s.out_w(), s.height, s.width, s.kh, s.kw,
          s.sh,           s.sw,      s.ph,      s.pw,     s.dh,     s.dw, s.batch};
}

std::string group_label(const std::string& label, uint32_t groups, uint32_t g) {
  return groups > 1 ? label + ".g" + std::to_string(g) : label;
}

// Per group: cg input channels, og output channels, gk = og·KH·KW columns.
struct Dims {
  uint32_t plane, ckk, cg, og, gk;
};
Dims dims(const ConvTranspose2dShape& s) {
  const uint32_t ckk = uint32_t(s.out_channels * s.taps());
  return {uint32_t(s.in_plane()), ckk, s.in_channels / s.groups, s.out_channels / s.groups,
          ckk / s.groups};
}

}  // namespace

uint32_t ConvTranspose2dShape::out_h() const { return out_size(height, kh, sh, ph, oph, dh); }
uint32_t ConvTranspose2dShape::out_w() const { return out_size(width, kw, sw, pw, opw, dw); }

void ConvTranspose2dShape::validate(const std::string& what) const {
  auto fail = [&](const std::string& m) { throw Error(what + ": " + m); };
  auto str = [](uint64_t v) { return std::to_string(v); };
  if (!batch || !in_channels || !height || !width || !out_channels)
    fail("batch, channels and sizes must be positive");
  if (!kh || !kw || !sh || !sw || !dh || !dw) fail("kernel, stride and dilation must be positive");
  if (!groups || in_channels % groups || out_channels % groups)
    fail("groups " + str(groups) + " must divide in_channels " + str(in_channels) +
         " and out_channels " + str(out_channels));
  if ((oph >= sh && oph >= dh) || (opw >= sw && opw >= dw))
    fail("output_padding " + str(oph) + "x" + str(opw) +
         " must be smaller than the stride or the dilation (" + str(sh) + "x" + str(sw) + ", " +
         str(dh) + "x" + str(dw) + ")");
  if (out_h() == 0 || out_w() == 0)
    fail("padding " + str(ph) + "x" + str(pw) + " leaves no output for the " + str(height) + "x" +
         str(width) + " input and kernel " + str(kh) + "x" + str(kw));
  // Dispatch grids: im2col's y runs over O·KH·KW, col2im's over O, both x
  // over a plane in 64-lane groups; col2im's lanes loop over the taps.
  if (uint64_t(out_channels) * taps() > 65535 || batch > 65535)
    fail("out_channels x kernel taps and batch must stay within 65535");
  if (taps() > 16384) fail("kernel " + str(kh) + "x" + str(kw) + " has more than 16384 taps");
  if (in_plane() > 65535ull * 64 || out_plane() > 65535ull * 64)
    fail("input and output planes must stay within 65535 x 64 positions");
  if (cols_floats() >= (1ull << 32) || x_floats() >= (1ull << 32) || y_floats() >= (1ull << 32))
    fail("tensors and the column workspace must stay below 2^32 values");
}

void record_conv_transpose2d_forward(Program& p, const ConvTranspose2dShape& s, const View& x,
                                     const View& w, const View& b, const View& y,
                                     const View& dcols, const std::string& label) {
  s.validate(label);
  const Dims d = dims(s);
  require_floats(x, s.x_floats(), label + " (x)");
  require_floats(w, s.w_floats(), label + " (w)");
  require_floats(y, s.y_floats(), label + " (y)");
  require_floats(dcols, s.cols_floats(), label + " (dcols)");
  if (b.valid()) require_floats(b, s.out_channels, label + " (bias)");
  for (uint32_t g = 0; g < s.groups; ++g) {
    // dcols[b, g*gk + k, p] = sum_c W[g*cg + c, k] * x[b, g*cg + c, p]
    GemmShape gs{d.gk, d.plane, d.cg, 1, d.gk, d.plane, 1, d.plane};
    gs.batch = s.batch;
    gs.b_bs = s.in_channels * d.plane;
    gs.c_bs = d.ckk * d.plane;
    gs.a_off = g * d.cg * d.gk;
    gs.b_off = g * d.cg * d.plane;
    gs.c_off = g * d.gk * d.plane;
    record_gemm(p, gs, w, x, View{}, dcols, group_label(label, s.groups, g));
  }
  // y[b, o, q] = sum of the dcols entries whose tap lands on output position q.
  const Geometry geo = geometry(s);
  const uint64_t out_plane = s.out_plane();
  p.dispatch(label + ".col2im", p.context().kernels().get("conv2d/col2im"),
             {gpu::in(dcols), gpu::out(y)}, geo, ceil_div(out_plane, 64), s.out_channels,
             s.batch);
  if (!b.valid()) return;
  const uint32_t vec = out_plane % 4 == 0 ? 4 : 1;
  const uint32_t spec[] = {vec};
  struct {
    uint32_t channels, plane;
  } push{s.out_channels, uint32_t(out_plane)};
  p.dispatch(label + ".bias", p.context().kernels().get("conv_transpose2d/add_bias", spec),
             {gpu::in(b), gpu::inout(y)}, push, ceil_div(out_plane / vec, 64), s.out_channels,
             s.batch);
}

void record_conv_transpose2d_backward_cols(Program& p, const ConvTranspose2dShape& s,
                                           const View& dy, const View& cols,
                                           const std::string& label) {
  s.validate(label);
  const Dims d = dims(s);
  require_floats(dy, s.y_floats(), label + " (dy)");
  require_floats(cols, s.cols_floats(), label + " (cols)");
  // cols[b, (o*KH + i)*KW + j, h*W + w] = dy[b, o, h*SH - PH + i*DH, w*SW - PW + j*DW] (0 outside)
  p.dispatch(label + ".im2col", p.context().kernels().get("conv2d/im2col"),
             {gpu::in(dy), gpu::out(cols)}, geometry(s), ceil_div(d.plane, 64), d.ckk, s.batch);
}

void record_conv_transpose2d_backward_input(Program& p, const ConvTranspose2dShape& s,
                                            const View& cols, const View& w, const View& dx,
                                            const std::string& label) {
  s.validate(label);
  const Dims d = dims(s);
  require_floats(cols, s.cols_floats(), label + " (cols)");
  require_floats(w, s.w_floats(), label + " (w)");
  require_floats(dx, s.x_floats(), label + " (dx)");
  for (uint32_t g = 0; g < s.groups; ++g) {
    // dx[b, g*cg + c, p] = sum_k W[g*cg + c, k] * cols[b, g*gk + k, p]
    GemmShape gs{d.cg, d.plane, d.gk, d.gk, 1, d.plane, 1, d.plane};
    gs.batch = s.batch;
    gs.b_bs = d.ckk * d.plane;
    gs.c_bs = s.in_channels * d.plane;
    gs.a_off = g * d.cg * d.gk;
    gs.b_off = g * d.gk * d.plane;
    gs.c_off = g * d.cg * d.plane;
    record_gemm(p, gs, w, cols, View{}, dx, group_label(label, s.groups, g));
  }
}

void record_conv_transpose2d_backward_params(Program& p, const ConvTranspose2dShape& s,
                                             const View& x, const View& cols, const View& dy,
                                             const View& dw, const View& db,
                                             const std::string& label) {
  s.validate(label);
  const Dims d = dims(s);
  require_floats(x, s.x_floats(), label + " (x)");
  require_floats(cols, s.cols_floats(), label + " (cols)");
  require_floats(dw, s.w_floats(), label + " (dw)");
  for (uint32_t g = 0; g < s.groups; ++g) {
    // dW[g*cg + c, k] = sum_b sum_p x[b, g*cg + c, p] * cols[b, g*gk + k, p]
    GemmShape gs{d.cg, d.gk, d.plane, d.plane, 1, 1, d.plane, d.gk};
    gs.batch = s.batch;
    gs.a_bs = s.in_channels * d.plane;
    gs.b_bs = d.ckk * d.plane;
    gs.a_off = g * d.cg * d.plane;
    gs.b_off = g * d.gk * d.plane;
    gs.c_off = g * d.cg * d.gk;
    gs.reduce_batch = true;
    record_gemm(p, gs, x, cols, View{}, dw, group_label(label, s.groups, g) + ".weight");
  }
  if (!db.valid()) return;
  require_floats(dy, s.y_floats(), label + " (dy)");
  // db[o] = sum_{b,q} dy[b, o, q]
  record_channel_sums(p, s.batch, s.out_channels, uint32_t(s.out_plane()), dy, db, label + ".bias");
}

}  // namespace fovea::ops
