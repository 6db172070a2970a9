#version 450
// Spectral normalisation, the end of one power iteration (PyTorch's
// normalize(x) = x / max(|x|, eps)), from t = W^T u and s = W t:
//   v = t / max(|t|, eps),   W v = s / max(|t|, eps) =: r,
//   u = r / max(|r|, eps),   sigma = u . r  (= u^T W v)
// written to uv (u at 0, v at v_off) and sigma[0]. One workgroup: each lane
// loops ceil(cols/64) times twice and ceil(rows/64) times twice, so rows +
// cols <= 262,144 keeps it inside lavapipe's loop budget (checked on the host).
#include "weight_norm/weight_norm.glsl"

layout(std430, set = 0, binding = 1) readonly buffer T { float t[]; };    // [cols]
layout(std430, set = 0, binding = 2) readonly buffer S { float s[]; };    // [rows]
layout(std430, set = 0, binding = 3) writeonly buffer UV { float uv[]; };
layout(std430, set = 0, binding = 4) writeonly buffer Sigma { float sigma[]; };  // [1]

layout(push_constant) uniform Push { uint rows, cols, v_off, t_iters, s_iters; float eps; } pc;

void main() {
  uint j = first_unit(0u, pc.t_iters);
  float acc = 0.0;
  for (uint i = 0u; i < pc.t_iters; ++i, j += WIDTH) {
    const float x = t[j < pc.cols ? j : 0u];
    acc += j < pc.cols ? x * x : 0.0;
  }
  const float t_norm = max(sqrt(workgroup_sum(vec2(acc, 0.0)).x), pc.eps);
  j = first_unit(0u, pc.t_iters);
  for (uint i = 0u; i < pc.t_iters; ++i, j += WIDTH)
    if (j < pc.cols) uv[pc.v_off + j] = t[j] / t_norm;

  uint o = first_unit(0u, pc.s_iters);
  acc = 0.0;
  for (uint i = 0u; i < pc.s_iters; ++i, o += WIDTH) {
    const float r = s[o < pc.rows ? o : 0u] / t_norm;
    acc += o < pc.rows ? r * r : 0.0;
  }
  const float r_norm = max(sqrt(workgroup_sum(vec2(acc, 0.0)).x), pc.eps);
  o = first_unit(0u, pc.s_iters);
  acc = 0.0;
  for (uint i = 0u; i < pc.s_iters; ++i, o += WIDTH) {
    if (o < pc.rows) {
      const float r = s[o] / t_norm;
      const float u = r / r_norm;
      uv[o] = u;
      acc += u * r;
    }
  }
  const float sig = workgroup_sum(vec2(acc, 0.0)).x;
  if (gl_LocalInvocationID.x == 0u) sigma[0] = sig;
}
