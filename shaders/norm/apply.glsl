// y = (x - mean) * invstd * gamma + beta for every unit of x [N, C, H*W/VEC]
// (the affine part only with AFFINE), with a per-channel affine part computed
// as PyTorch's CPU kernel does: y = x * scale + shift, scale = invstd * gamma,
// shift = beta - mean * scale. The statistics group of a unit at
// digits (n, g, ci, hw) (see norm.glsl) is s = n*stat_n + g: stat_n = 0 for
// BatchNorm (one group per channel, g = c), G per sample otherwise. stats is
// [2, S]: mean at s, invstd at S + s; with FROM_VAR (BatchNorm evaluation on
// the running statistics) the second row is a variance, invstd = 1/sqrt(var +
// eps). affine is [2, P]: gamma then beta, indexed by the channel c = g*Cg + ci
// or, with ELEMENTWISE (LayerNorm), by the unit's position c*HW + hw in its
// sample (then P counts units). Padding rows (n >= P.rows) get y = 0.
// Each lane handles runs of RUN consecutive units (RUN divides H*W/VEC, so a
// run stays in one plane) and loads the statistics and per-channel affine
// values once per run: on lavapipe every storage-buffer load costs per lane,
// and those gathers, not x and y, dominated the kernel.
layout(constant_id = 0) const uint AFFINE = 1;
layout(constant_id = 1) const uint ELEMENTWISE = 0;
layout(constant_id = 2) const uint FROM_VAR = 0;
layout(constant_id = 3) const uint RUN = 1;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { T x[]; };
layout(std430, set = 0, binding = 2) readonly buffer Stats { float stats[]; };
layout(std430, set = 0, binding = 3) readonly buffer Affine { T affine[]; };
layout(std430, set = 0, binding = 3) readonly buffer AffineScalar { float affine1[]; };
layout(std430, set = 0, binding = 4) writeonly buffer Y { T y[]; };

layout(push_constant) uniform Push {
  uint HW, Cg, G, runs;         // digit radices (HW in runs); runs in x
  uint d_hw, d_ci, d_g, d_n;    // digits of the grid stride (in runs)
  uint stat_n, S, P;
  float eps;
  uint row0;                    // batch row of x's first row (a window of a larger batch)
} pc;

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const Pos d = Pos(pc.d_hw, pc.d_ci, pc.d_g, pc.d_n);
  Pos p = pos_of(gl_GlobalInvocationID.x, pc.HW, pc.Cg, pc.G);
  for (uint r = gl_GlobalInvocationID.x; r < pc.runs; r += stride) {
    const uint s = p.n * pc.stat_n + p.g;
    const uint c = p.g * pc.Cg + p.ci;
    const bool valid = p.n + pc.row0 < P.rows;
    const float mean = stats[s];
    const float invstd = FROM_VAR != 0u ? 1.0 / sqrt(stats[pc.S + s] + pc.eps) : stats[pc.S + s];
    // Per channel: y = x * scale + shift.
    float scale = invstd, shift = -mean * invstd;
    if (AFFINE != 0u && ELEMENTWISE == 0u) {
      scale *= affine1[c];
      shift = shift * affine1[c] + affine1[pc.P + c];
    }
    for (uint m = 0; m < RUN; ++m) {
      const uint e = r * RUN + m;
      T v = x[e] * scale + shift;
      if (AFFINE != 0u && ELEMENTWISE != 0u) {
        const uint a = c * pc.HW * RUN + p.hw * RUN + m;
        v = v * affine[a] + affine[pc.P + a];
      }
      y[e] = valid ? v : T(0.0);
    }
    advance(p, d, pc.HW, pc.Cg, pc.G);
  }
}
