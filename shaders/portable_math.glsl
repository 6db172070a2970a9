// log, sin and cos computed the same way on every Vulkan implementation.
//
// Vulkan only bounds the built-ins loosely (sin and cos to an absolute 2^-11
// on [-pi, pi], log to 3 ulp outside [0.5, 2]), and implementations use those
// bounds: SwiftShader's cos put Box-Muller noise 1e-4 away from lavapipe's
// and its sin/cos moved rotated pixels by 7e-4. These versions use only
// +, *, / and exact range reductions, so they agree with a double-precision
// reference to a few float ulps everywhere (docs/portability.md: what Fovea
// promises across devices). Only the kernels whose results feed training
// through a random draw or a geometric transform use them.
#ifndef FOVEA_PORTABLE_MATH
#define FOVEA_PORTABLE_MATH

// (cos, sin) of 2 pi r for |r| <= 1/8: Taylor series to x^10 / x^11
// (truncation below 2e-9 at pi/4).
vec2 fv_cos_sin_octant(float r) {
  const float x = 6.283185307179586 * r;
  const float x2 = x * x;
  float c = 1.0 + x2 * (-1.0 / 2.0 + x2 * (1.0 / 24.0 + x2 * (-1.0 / 720.0 +
            x2 * (1.0 / 40320.0 + x2 * (-1.0 / 3628800.0)))));
  float s = x * (1.0 + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5040.0 +
            x2 * (1.0 / 362880.0 + x2 * (-1.0 / 39916800.0))))));
  return vec2(c, s);
}

// (cos, sin) of 2 pi u, u in turns. u - q/4 is exact for |u| < 2 (both are
// multiples of u's ulp), so the reduction adds no error there.
vec2 fv_cos_sin_turns(float u) {
  const float q = floor(4.0 * u + 0.5);
  const vec2 cs = fv_cos_sin_octant(u - 0.25 * q);
  const int k = int(q - 4.0 * floor(q * 0.25));  // quadrant 0..3
  if (k == 0) return cs;
  if (k == 1) return vec2(-cs.y, cs.x);
  if (k == 2) return -cs;
  return vec2(cs.y, -cs.x);
}

float fv_cos_turns(float u) { return fv_cos_sin_turns(u).x; }
vec4 fv_cos_turns(vec4 u) {
  return vec4(fv_cos_turns(u.x), fv_cos_turns(u.y), fv_cos_turns(u.z), fv_cos_turns(u.w));
}

// (cos, sin) of an angle in radians (the division into turns rounds once).
vec2 fv_cos_sin(float x) { return fv_cos_sin_turns(x * 0.15915494309189535); }

// Natural log of a positive normal float: x = m 2^e with m in
// [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m - 1) / (m + 1) in
// [-0.172, 0.172], series to s^13 (truncation below 1e-11).
float fv_log(float x) {
  int e;
  float m = frexp(x, e);  // m in [0.5, 1)
  if (m < 0.7071067811865476) {
    m *= 2.0;
    e -= 1;
  }
  const float s = (m - 1.0) / (m + 1.0);
  const float s2 = s * s;
  const float lm = 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 +
                   s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0)))))));
  // ln 2 in two parts: e * 0.693359375 is exact for |e| < 2^15.
  return float(e) * 0.693359375 + (float(e) * -2.1219444005469057e-4 + lm);
}
vec4 fv_log(vec4 x) { return vec4(fv_log(x.x), fv_log(x.y), fv_log(x.z), fv_log(x.w)); }

#endif
