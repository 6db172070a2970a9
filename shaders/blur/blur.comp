#version 450
// One pass of a separable Gaussian blur over a batch of images or feature
// maps x: [B, C, H, W], along W (AXIS = 0) or H (AXIS = 1), src -> dst. Two
// passes (W into a scratch buffer, then H back) blur in place. Each channel
// plane is blurred on its own.
//
// FEATURE = 0, the input blur of progressive sharpening: sigma =
//   P.blur_sigma pixels, taps k = -r..r with r = ceil(3 sigma), weights
//   exp(-k^2 / 2 sigma^2) normalised to sum 1, reflect padding (the border
//   pixel is not repeated; offsets past the far border fold back again).
//   Only the first P.rows - round(replay * P.rows) rows are blurred: the
//   rest of the batch stays original (--sharpen-replay).
// FEATURE = 1, feature-map smoothing: sigma = P.feature_sigma, 3 taps
//   (r = 1), zero padding. With zero padding the operator is symmetric, so
//   the same passes applied to the gradient are its backward.
//
// sigma <= 0 is the identity: every lane returns before touching memory,
// so a recorded blur costs one empty dispatch per pass when it is off.
// Lanes loop over 2r + 1 taps for each of their grid-stride elements; the
// host caps r so that this stays far below the 65,535-iteration limit.
#include "common.glsl"
layout(constant_id = 0) const uint AXIS = 0;
layout(constant_id = 1) const uint FEATURE = 0;
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 1) readonly buffer Src { float src[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Dst { float dst[]; };

layout(push_constant) uniform Push {
  uint count;         // B * C * H * W
  uint width, height;
  uint row_features;  // C * H * W
  float replay;       // fraction of each batch left unblurred (FEATURE = 0)
  uint max_radius;    // the host's cap on r
  uint row0;          // the batch row of this dispatch's first row (a window of a larger batch)
} pc;

// Reflect padding for any offset: the index folds back and forth over
// [0, n) with period 2 (n - 1).
int reflect_index(int i, int n) {
  if (n == 1) return 0;
  int period = 2 * (n - 1);
  i = abs(i) % period;
  return i < n ? i : period - i;
}

void main() {
  float sigma = FEATURE != 0u ? P.feature_sigma : P.blur_sigma;
  if (!(sigma > 0.0)) return;
  int r = FEATURE != 0u ? 1 : min(int(ceil(3.0 * sigma)), int(pc.max_radius));
  uint rows = P.rows;
  if (FEATURE == 0u) rows -= uint(floor(pc.replay * float(rows) + 0.5));
  rows = rows > pc.row0 ? rows - pc.row0 : 0u;  // rows of this window to blur
  uint limit = min(pc.count, rows * pc.row_features);
  int n = int(AXIS == 0u ? pc.width : pc.height);
  int step = int(AXIS == 0u ? 1u : pc.width);
  float inv_two_var = 0.5 / (sigma * sigma);
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < limit; e += stride) {
    uint in_plane = e % (pc.width * pc.height);
    int pos = int(AXIS == 0u ? in_plane % pc.width : in_plane / pc.width);
    int base = int(e) - pos * step;
    float acc = 0.0, total = 0.0;
    for (int k = -r; k <= r; ++k) {
      float w = exp(-float(k * k) * inv_two_var);
      total += w;
      int q = pos + k;
      if (FEATURE == 0u)
        acc += w * src[base + reflect_index(q, n) * step];
      else if (q >= 0 && q < n)
        acc += w * src[base + q * step];
    }
    dst[e] = acc / total;
  }
}
