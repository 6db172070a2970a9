#version 450
// The dropout family's one kernel: y = [a +] f(x, draw) over `count` values,
// where every `group` consecutive values share one draw (1: dropout,
// DropConnect; H*W: dropout2d; C*H*W: stochastic depth, per sample). Draw m
// is keyed (P.seed, stream, P.step, purpose, m) as in rng/philox.glsl, so a
// backward dispatch with the same push constants and step regenerates the
// forward's mask.
//   KIND 0 (Bernoulli, affine): keep = u >= p, u = philox_uniform(purpose)
//     y = keep ? scale x + shift_keep : shift_drop
//     dropout forward: scale 1/(1-p), shifts 0; alpha dropout forward:
//     scale a, shift_keep b, shift_drop a alpha' + b; every backward:
//     dx = keep ? scale dy : 0 (shifts 0).
//   KIND 1 (Gaussian): y = x (1 + sigma z), z = philox_normal(purpose): the
//     uniforms of purpose and purpose + 1, Box-Muller as in philox.glsl. Its
//     own backward.
//   ADD 1: y = a + f(x) (stochastic depth: a the shortcut, x the branch); y
//     may be a (in place).
// Each lane handles 4 consecutive values: one Philox block covers them when
// group == 1, at most two otherwise. vec4 access with a scalar tail.
#include "common.glsl"
#include "rng/philox.glsl"
layout(constant_id = 0) const uint KIND = 0;
layout(constant_id = 1) const uint ADD = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(std430, set = 0, binding = 2) readonly buffer A4 { vec4 a4[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y4 { vec4 y4[]; };
layout(std430, set = 0, binding = 1) readonly buffer X1 { float x[]; };
layout(std430, set = 0, binding = 2) readonly buffer A1 { float a[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y1 { float y[]; };

layout(push_constant) uniform Push {
  uint count;
  uint group;    // values per draw
  uint stream;   // the layer's node index
  uint purpose;  // first purpose of this layer's draws
  float p;       // drop probability (KIND 0)
  float scale, shift_keep, shift_drop;  // KIND 0
  float sigma;   // KIND 1: sqrt(p / (1 - p))
  uint quad0;    // quads before this dispatch's first value (a window of a larger tensor)
  uint row_draws;  // draws per batch row (0: one mask for the whole batch, DropConnect)
} pc;

// The 24-bit uniforms of this dispatch's values 4q..4q+3 (draws m = value /
// group, values counted from the tensor's first, and in the global batch:
// + P.first_row row_draws on a data-parallel rank).
vec4 uniforms(uint q, uint purpose) {
  uvec4 m = (uvec4(4u * (q + pc.quad0)) + uvec4(0u, 1u, 2u, 3u)) / pc.group + uvec4(P.first_row * pc.row_draws);
  uvec2 key = uvec2(P.seed, pc.stream);
  uvec4 r0 = philox4x32(uvec4(m.x >> 2, P.step, purpose, 0u), key), r1 = r0;
  // m.w - m.x <= 3, so the draws span at most two Philox blocks.
  if ((m.w >> 2) != (m.x >> 2)) r1 = philox4x32(uvec4(m.w >> 2, P.step, purpose, 0u), key);
  uvec4 w;
  for (int j = 0; j < 4; ++j) w[j] = ((m[j] >> 2) == (m.x >> 2) ? r0 : r1)[m[j] & 3u];
  return vec4(w >> 8) * (1.0 / 16777216.0);
}

vec4 apply(uint q, vec4 v) {
  vec4 u = uniforms(q, pc.purpose);
  if (KIND == 1u) {
    vec4 u2 = uniforms(q, pc.purpose + 1u);
    vec4 z = sqrt(-2.0 * fv_log(1.0 - u)) * fv_cos_turns(u2);
    return v * (1.0 + pc.sigma * z);
  }
  bvec4 keep = greaterThanEqual(u, vec4(pc.p));
  return mix(vec4(pc.shift_drop), pc.scale * v + pc.shift_keep, keep);
}

void main() {
  uint quads = (pc.count + 3u) / 4u, full = pc.count / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint q = gl_GlobalInvocationID.x; q < quads; q += stride) {
    if (q < full) {
      vec4 v = apply(q, x4[q]);
      y4[q] = ADD != 0u ? a4[q] + v : v;
    } else {  // the last, partial quad
      vec4 in4 = vec4(0.0);
      for (uint j = 0u; 4u * q + j < pc.count; ++j) in4[j] = x[4u * q + j];
      vec4 v = apply(q, in4);
      for (uint j = 0u; 4u * q + j < pc.count; ++j) y[4u * q + j] = ADD != 0u ? a[4u * q + j] + v[j] : v[j];
    }
  }
}
