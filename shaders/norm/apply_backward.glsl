// dx = alpha * dy [* gamma] + beta * x + gamma0 for every unit of x
// [N, C, H*W/VEC], with per-plane coefficients from norm/finalize_grad:
// coef = [copy of LayerNorm's gamma (P units, only with LN_GAMMA) | alpha (R) |
// beta (R) | gamma0 (R) | ...], plane q = n*q_n + c*q_c (BatchNorm: c;
// Instance/GroupNorm: n*C + c; LayerNorm: n). With LN_GAMMA, alpha is
// multiplied by gamma at the unit's position c*HW + hw in its sample (see
// finalize_grad for the derivation). Padding rows (n >= P.rows) get dx = 0.
// Runs of RUN units per lane, one coefficient load per run: see norm/apply.
layout(constant_id = 0) const uint LN_GAMMA = 0;
layout(constant_id = 1) const uint RUN = 1;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { T x[]; };
layout(std430, set = 0, binding = 2) readonly buffer DY { T dy[]; };
layout(std430, set = 0, binding = 3) readonly buffer Coef { T coef[]; };
layout(std430, set = 0, binding = 3) readonly buffer CoefScalar { float coef1[]; };
layout(std430, set = 0, binding = 4) writeonly buffer DX { T dx[]; };

layout(push_constant) uniform Push {
  uint HW, Cg, G, runs;         // digit radices (HW in runs); runs in x
  uint d_hw, d_ci, d_g, d_n;    // digits of the grid stride (in runs)
  uint q_n, q_c, R, base;       // plane index; planes; first alpha (floats)
  uint row0;                    // batch row of x's first row (a window of a larger batch)
} pc;

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const Pos d = Pos(pc.d_hw, pc.d_ci, pc.d_g, pc.d_n);
  Pos p = pos_of(gl_GlobalInvocationID.x, pc.HW, pc.Cg, pc.G);
  for (uint r = gl_GlobalInvocationID.x; r < pc.runs; r += stride) {
    const uint c = p.g * pc.Cg + p.ci;
    const uint q = pc.base + p.n * pc.q_n + c * pc.q_c;
    const bool valid = p.n + pc.row0 < P.rows;
    const float alpha = coef1[q], beta = coef1[q + pc.R], gamma0 = coef1[q + 2u * pc.R];
    for (uint m = 0; m < RUN; ++m) {
      const uint e = r * RUN + m;
      T g = dy[e] * alpha;
      if (LN_GAMMA != 0u) g *= coef[c * pc.HW * RUN + p.hw * RUN + m];
      const T v = g + beta * x[e] + gamma0;
      dx[e] = valid ? v : T(0.0);
    }
    advance(p, d, pc.HW, pc.Cg, pc.G);
  }
}
