// LayerNorm's elementwise parameter gradients, a column sum over the valid
// rows n < P.rows of x, dy [N, P] (P = C*H*W/VEC units per sample):
//   dgamma[i] = sum_n dy[n, i] (x[n, i] - mean[n]) invstd[n],  dbeta[i] = sum_n dy[n, i]
// saved = [2, N] (mean, invstd); daffine = [2, P] (dgamma, dbeta). Every lane
// runs `batch` iterations (padding rows masked): batch <= 16384 is checked
// when recording. Each lane sums RUN consecutive units (RUN divides P), so a
// row is read in contiguous bursts of RUN units per lane and the per-row mean
// and invstd are loaded once per RUN units.
layout(constant_id = 0) const uint RUN = 1;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer X { T x[]; };
layout(std430, set = 0, binding = 2) readonly buffer DY { T dy[]; };
layout(std430, set = 0, binding = 3) readonly buffer Saved { float saved[]; };
layout(std430, set = 0, binding = 4) writeonly buffer DAffine { T daffine[]; };

layout(push_constant) uniform Push { uint P, batch; } pc;  // P: units per sample

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint r = gl_GlobalInvocationID.x; r < pc.P / RUN; r += stride) {
    T dg[RUN], db[RUN];
    for (uint m = 0; m < RUN; ++m) dg[m] = db[m] = T(0.0);
    uint off = r * RUN;
    for (uint n = 0; n < pc.batch; ++n) {
      const bool ok = n < P.rows;
      const float mean = saved[n], invstd = saved[pc.batch + n];
      for (uint m = 0; m < RUN; ++m) {
        const T g = dy[off + m];
        dg[m] += ok ? g * ((x[off + m] - mean) * invstd) : T(0.0);
        db[m] += ok ? g : T(0.0);
      }
      off += pc.P;
    }
    for (uint m = 0; m < RUN; ++m) {
      daffine[r * RUN + m] = dg[m];
      daffine[pc.P + r * RUN + m] = db[m];
    }
  }
}
