#version 450
// Backward coefficients per plane from the norm/reduce partials (MODE 1).
// For a statistics group with n valid values, mean mu, invstd i,
// xhat = (x - mu) i and w = dy * gamma (gamma = 1 without affine):
//   dx = i (w - SG/n - xhat SGX/n),    SG = sum w,  SGX = sum w xhat
//      = alpha dy + beta x + gamma0,   alpha = i gamma,  beta = -i^2 SGX/n,
//                                      gamma0 = -i SG/n - beta mu.
// Each group s has Cg planes r = s*Cg + ci (BatchNorm: the channel; Instance
// Norm: the (n, c) plane; GroupNorm: the Cg (n, c) planes of the group; Layer
// Norm: the sample) reduced with their own shift: A_r = sum dy and
// B_r = sum dy (x - shift_r), so sum dy xhat = i (B_r - (mu - shift_r) A_r)
// and, gamma being constant on a plane, SG = sum_r gamma_r A_r and
// SGX = sum_r gamma_r (sum dy xhat)_r.
// GAMMA_IN_SUMS (LayerNorm with affine): the reduce already weighted dy by
// the elementwise gamma, so A, B give SG, SGX directly, alpha = i, and gamma
// is copied to coef[0, P) for norm/apply_backward.
// coef = [gamma copy (base floats) | alpha | beta | gamma0 | A | sum dy xhat],
// R floats per row after the copy; the last two rows feed the parameter
// gradients (dbeta = sum A, dgamma = sum dy xhat over the batch).
// FROZEN (BatchNorm in evaluation mode): saved holds the running statistics
// (mean, var), invstd = 1/sqrt(var + eps), and the statistics are constants,
// so dx = invstd gamma dy: alpha = i gamma, beta = gamma0 = 0.
// SYNC (synchronised BatchNorm, --sync-bn): part holds the host's sums over
// the ranks first ([R, 1, 3]; n = the global valid rows, loss_divisor(),
// times count), which give alpha, beta, gamma0, then this rank's own
// partials ([R, K, 3] at 3R), which give the A and sum-dy-xhat rows: the
// parameter gradients stay this rank's part, summed with the others by the
// gradient all-reduce.
#include "common.glsl"
layout(constant_id = 0) const uint AFFINE = 1;
layout(constant_id = 1) const uint GAMMA_IN_SUMS = 0;
layout(constant_id = 2) const uint FROZEN = 0;
layout(constant_id = 3) const uint SYNC = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Partial { float part[]; };  // [R, K, 3]
layout(std430, set = 0, binding = 2) readonly buffer Saved { float saved[]; };   // [2, S]
layout(std430, set = 0, binding = 3) readonly buffer Affine { float affine[]; }; // [2, P]
layout(std430, set = 0, binding = 4) writeonly buffer Coef { float coef[]; };

// count, per_sample, batch: as in finalize_stats (values per group). G: groups
// per sample, so the channel of plane ci of group s is (s % G)*Cg + ci.
layout(push_constant) uniform Push {
  uint S, K, Cg, G, count, per_sample, batch, R, base;
  float eps;  // FROZEN only
} pc;

float plane_gamma(uint s, uint ci) {
  return AFFINE != 0u && GAMMA_IN_SUMS == 0u ? affine[(s % pc.G) * pc.Cg + ci] : 1.0;
}

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (GAMMA_IN_SUMS != 0u)
    for (uint i = gl_GlobalInvocationID.x; i < pc.base; i += stride) coef[i] = affine[i];
  for (uint s = gl_GlobalInvocationID.x; s < pc.S; s += stride) {
    const float n_own = pc.per_sample == 0u ? float(min(P.rows, pc.batch)) * float(pc.count)
                                            : (s / pc.per_sample < P.rows ? float(pc.count) : 0.0);
    const float n = SYNC != 0u ? loss_divisor() * float(pc.count) : n_own;
    const float mu = saved[s];
    const float inv = FROZEN != 0u ? inversesqrt(saved[pc.S + s] + pc.eps) : saved[pc.S + s];
    float sg = 0.0, sgx = 0.0;
    for (uint ci = 0; ci < pc.Cg; ++ci) {
      const uint r = s * pc.Cg + ci;
      const uint local = SYNC != 0u ? 3u * pc.R : 0u;
      float a = 0.0, b = 0.0;
      for (uint k = 0; k < pc.K; ++k) {
        a += part[local + (r * pc.K + k) * 3u];
        b += part[local + (r * pc.K + k) * 3u + 1u];
      }
      const float shift = part[local + r * pc.K * 3u + 2u];
      float sx = n_own > 0.0 ? inv * (b - (mu - shift) * a) : 0.0;
      coef[pc.base + 3u * pc.R + r] = a;
      coef[pc.base + 4u * pc.R + r] = sx;
      if (SYNC != 0u) {
        a = part[r * 3u];
        sx = n > 0.0 ? inv * (part[r * 3u + 1u] - (mu - part[r * 3u + 2u]) * a) : 0.0;
      }
      const float g = plane_gamma(s, ci);
      sg += g * a;
      sgx += g * sx;
    }
    const float inv_n = n > 0.0 ? 1.0 / n : 0.0;
    const float beta = FROZEN != 0u ? 0.0 : -inv * inv * sgx * inv_n;
    const float gamma0 = FROZEN != 0u ? 0.0 : -inv * sg * inv_n - beta * mu;
    for (uint ci = 0; ci < pc.Cg; ++ci) {
      const uint r = s * pc.Cg + ci;
      coef[pc.base + r] = n > 0.0 ? inv * plane_gamma(s, ci) : 0.0;
      coef[pc.base + pc.R + r] = beta;
      coef[pc.base + 2u * pc.R + r] = gamma0;
    }
  }
}
