// blur: the Gaussian blur of progressive sharpening (input images, sigma
// from the step parameters), the 3x3 feature-map smoothing of Curriculum by
// Smoothing, and the decimation step of a blur pyramid.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

using BlurShape = BatchShape;

// The largest kernel radius the blur kernel uses: sigma above
// kMaxBlurSigma (radius ceil(3 sigma)) is refused by the schedules.
constexpr uint32_t kMaxBlurRadius = 64;
constexpr double kMaxBlurSigma = kMaxBlurRadius / 3.0;

enum class BlurKind {
  Image,    // sigma = P.blur_sigma, radius ceil(3 sigma), reflect padding
  Feature,  // sigma = P.feature_sigma, 3 taps, zero padding (self-adjoint)
};

// Blurs x: [batch, C, H, W] in place, each channel plane separately, through
// `scratch` (same size): a pass along W into scratch, then along H back into
// x. Only rows < P.rows are touched; for Image, the last
// round(replay * P.rows) of them stay original. sigma = 0 leaves x as it is
// at the cost of two empty dispatches, so the recorded step never changes.
void record_blur(Program& p, const BlurShape& s, BlurKind kind, double replay, const View& x,
                 const View& scratch, const std::string& label);

// y[b, c, i, j] = x[b, c, 2i, 2j]: x: [batch, C, H, W] -> y: [batch, C,
// ceil(H/2), ceil(W/2)].
void record_downsample2(Program& p, const BlurShape& s, const View& x, const View& y,
                        const std::string& label);

}  // namespace fovea::ops
