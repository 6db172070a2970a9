// Float special functions for the activation and loss kernels, on vec4 (a
// scalar goes in as vec4(x) and comes out as .x). Branch-free: each lane
// evaluates every region and selects with mix(a, b, bvec), so lanes never
// diverge and an unselected region may overflow harmlessly. GLSL's own
// tanh, and exp(x) - 1 or log(1 + x) near 0, lose relative accuracy (the
// spec allows log an absolute error of 2^-21 near 1), so these are built
// from exp, division and polynomials only.
//
// Accuracy against double: erf within 7.4e-8 absolute over [-6, 6] on
// lavapipe (the test asks 1e-7; an offline float32 simulation of these
// operations gives 7.1e-8); erfc's relative error grows like 6e-8 a^2 for
// a >= 1 (the rounding of a^2 inside exp(-a^2): 2e-6 at a = 6). The others
// stay within a few ulps plus the driver's exp.

// expm1(w) = exp(w) - 1 for w <= 0. On [-0.5, 0] the Taylor series to
// w^10 / 10! (truncation below 6e-10 relative); below -0.5 exp(w) <= 0.61,
// so exp(w) - 1 cancels at most one bit.
vec4 fv_expm1_nonpos(vec4 w) {
  vec4 q = vec4(1.0 / 3628800.0);          // 1/10!
  q = q * w + 1.0 / 362880.0;              // 1/9!
  q = q * w + 1.0 / 40320.0;               // 1/8!
  q = q * w + 1.0 / 5040.0;                // 1/7!
  q = q * w + 1.0 / 720.0;                 // 1/6!
  q = q * w + 1.0 / 120.0;                 // 1/5!
  q = q * w + 1.0 / 24.0;                  // 1/4!
  q = q * w + 1.0 / 6.0;                   // 1/3!
  q = q * w + 0.5;                         // 1/2!
  vec4 series = w + w * (w * q);
  return mix(exp(w) - 1.0, series, greaterThanEqual(w, vec4(-0.5)));
}

// log(1 + e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) in [0, 1/3],
// the odd series 2 (s + s^3/3 + ... + s^17/17); truncation below 2e-10
// relative, and every term positive (no cancellation).
vec4 fv_log1p_unit(vec4 e) {
  vec4 s = e / (2.0 + e);
  vec4 w = s * s;
  vec4 r = w * (1.0 / 17.0);
  r = w * (1.0 / 15.0 + r);
  r = w * (1.0 / 13.0 + r);
  r = w * (1.0 / 11.0 + r);
  r = w * (1.0 / 9.0 + r);
  r = w * (1.0 / 7.0 + r);
  r = w * (1.0 / 5.0 + r);
  r = w * (1.0 / 3.0 + r);
  return 2.0 * s + 2.0 * (s * r);
}

// softplus(z) = log(1 + exp(z)) = max(z, 0) + log(1 + exp(-|z|)), finite
// for every finite z.
vec4 fv_log1pexp(vec4 z) { return max(z, 0.0) + fv_log1p_unit(exp(-abs(z))); }

// sigmoid(x) = 1 / (1 + exp(-x)); with e = exp(-|x|) <= 1 it is 1 / (1 + e)
// for x >= 0 and e / (1 + e) below, so it never overflows and keeps its
// relative accuracy for large negative x.
vec4 fv_sigmoid(vec4 x) {
  vec4 e = exp(-abs(x));
  vec4 r = 1.0 / (1.0 + e);
  return mix(e * r, r, greaterThanEqual(x, vec4(0.0)));
}

// tanh(x) = sign(x) (1 - exp(-2|x|)) / (1 + exp(-2|x|)) = sign(x) (-m) / (2 + m)
// with m = expm1(-2|x|) in (-1, 0]: accurate near 0 and exactly +-1 for
// large |x|.
vec4 fv_tanh(vec4 x) {
  vec4 m = fv_expm1_nonpos(-2.0 * abs(x));
  vec4 t = abs(m) / (2.0 + m);
  return mix(t, -t, lessThan(x, vec4(0.0)));
}

// erf(a) and erfc(a) = 1 - erf(a) for a >= 0 (callers apply the sign).
//   a < 1:  erf(a) = a + a P(a^2), P a degree-6 polynomial fitted to
//           erf(a)/a - 1 in s = a^2 on [0, 1] (Chebyshev fit, mpmath
//           chebyfit, max error 1.3e-9); writing a + a P keeps the rounding
//           of the leading term exact (the fitted constant is 2/sqrt(pi) - 1).
//   a >= 1: erfc(a) = exp(-a^2) t G(2t - 1) with t = 1/a, G a degree-11
//           polynomial fitted to erfc(a) exp(a^2) a on v = 2/a - 1 in
//           [-1, 1] (same method, max error 1.9e-8 on G ~ 0.5; G(-1) is
//           1/sqrt(pi), the asymptote). erf(a) = 1 - erfc(a).
// Coefficients rounded to float, highest degree first.
void fv_erf_erfc_nonneg(vec4 a, out vec4 erf_a, out vec4 erfc_a) {
  vec4 s = a * a;
  vec4 p = vec4(7.875874871e-05);
  p = p * s - 8.016864303e-04;
  p = p * s + 5.189087242e-03;
  p = p * s - 2.685421146e-02;
  p = p * s + 1.128359437e-01;
  p = p * s - 3.761262596e-01;
  p = p * s + 1.283791661e-01;
  vec4 ap = a * p;
  vec4 erf_small = a + ap;
  vec4 erfc_small = (1.0 - a) - ap;

  vec4 t = 1.0 / max(a, 1.0);  // the max keeps 1/0 out of the unselected lane
  vec4 v = 2.0 * t - 1.0;
  vec4 g = vec4(1.014698282e-04);
  g = g * v - 1.568349981e-04;
  g = g * v - 1.864317455e-04;
  g = g * v + 6.320370594e-04;
  g = g * v - 8.105723537e-04;
  g = g * v + 5.603931495e-04;
  g = g * v + 1.327722101e-03;
  g = g * v - 6.780690048e-03;
  g = g * v + 1.487032231e-02;
  g = g * v - 9.159688838e-03;
  g = g * v - 8.360550553e-02;
  g = g * v + 5.107913613e-01;
  vec4 erfc_big = exp(-s) * (t * g);

  bvec4 small = lessThan(a, vec4(1.0));
  erf_a = mix(1.0 - erfc_big, erf_small, small);
  erfc_a = mix(erfc_big, erfc_small, small);
}

vec4 fv_erf(vec4 x) {
  vec4 e, c;
  fv_erf_erfc_nonneg(abs(x), e, c);
  return mix(e, -e, lessThan(x, vec4(0.0)));
}

// Phi(x) = P(N(0,1) <= x) = erfc(-x / sqrt(2)) / 2, from erfc on both sides
// so that Phi keeps its relative accuracy for negative x (GELU's tail).
vec4 fv_normal_cdf(vec4 x) {
  vec4 e, c;
  fv_erf_erfc_nonneg(abs(x) * 0.7071067811865476, e, c);
  return mix(1.0 - 0.5 * c, 0.5 * c, lessThan(x, vec4(0.0)));
}
